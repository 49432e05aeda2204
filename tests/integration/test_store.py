# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.store through ansible-playbook, against a real moto server (S3 API).

The AWX story: a job pushes its working copy at the end; the next job starts in a fresh
container (an empty directory), pulls, and must get the same bytes back with the key
private. Credentials come from the environment (the test bed's dummy AWS_* keys); the
endpoint is a module option.
"""

import json
import os
import shutil
import stat
import uuid

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._store.manifest import MANIFEST_NAME
from testbed.moto import MotoServer
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

pytestmark = pytest.mark.integration

PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Sync the store
      autotls.acme.store:
        state: "{{ sync_state }}"
        path: "{{ working_copy }}"
        store:
          type: s3
          bucket: "{{ bucket }}"
          prefix: "{{ prefix }}"
        aws_endpoint_url: "{{ endpoint }}"
'''

LOCAL_PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Sync the local store
      autotls.acme.store:
        state: "{{ sync_state }}"
        store:
          type: local
          path: "{{ store_path }}"
'''

KEY_FILES = ('account.pem', 'app1/privkey.pem', 'qa1-wildcard/privkey.pem')


@pytest.fixture(scope='module')
def moto_s3(tmp_path_factory):
    with MotoServer(workdir=str(tmp_path_factory.mktemp('moto-s3'))) as server:
        yield server


@pytest.fixture
def bucket(moto_s3):
    name = 'autotls-%s' % uuid.uuid4().hex[:12]
    client = moto_s3.client('s3')
    client.create_bucket(Bucket=name)
    return client, name


def _working_copy(root):
    """What the certificate module leaves behind: account key, CA root, two certificates."""
    ca_cert, ca_key = make_ca('autotls store test CA')
    files = {'account.pem': key_pem(make_ca()[1]), 'ca-root.pem': cert_pem(ca_cert)}
    for name, domains in (('app1', ('app1.example.test',)), ('qa1-wildcard', ('*.qa1.example.test', 'qa1.example.test'))):
        cert, key = make_server_cert(ca_cert, ca_key, names=domains, ips=())
        files.update({'%s/cert.pem' % name: cert_pem(cert), '%s/chain.pem' % name: cert_pem(ca_cert),
                      '%s/fullchain.pem' % name: cert_pem(cert) + cert_pem(ca_cert),
                      '%s/privkey.pem' % name: key_pem(key)})
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
        os.chmod(path, 0o600 if rel in KEY_FILES else 0o644)
    return files


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _current(client, name, prefix='prod/'):
    """``{relpath: object key}`` of the files the store's manifest lists."""
    manifest = json.loads(client.get_object(Bucket=name, Key=prefix + MANIFEST_NAME)['Body'].read())
    return {rel: prefix + entry['key'] for rel, entry in manifest['files'].items()}


def test_push_wipe_pull_round_trip(moto_s3, bucket, run_playbook, tmp_path):
    client, name = bucket
    root = str(tmp_path / 'autotls')
    files = _working_copy(root)

    def run(state, check=False, **kwargs):
        extra = dict(sync_state=state, working_copy=root, bucket=name, prefix='prod',
                     endpoint=moto_s3.endpoint_url)
        result = run_playbook(PLAYBOOK, extra, check=check, **kwargs)
        return result, result.task('Sync the store')['result']

    # Check mode: says what would go up, uploads nothing.
    checked = run('pushed', check=True)[1]
    assert checked['changed'] is True and sorted(checked['pushed']) == sorted(files)
    assert 'Contents' not in client.list_objects_v2(Bucket=name)

    # No push without a pull that succeeded.
    refused = run_playbook(PLAYBOOK, dict(sync_state='pushed', working_copy=root, bucket=name, prefix='prod',
                                          endpoint=moto_s3.endpoint_url), expect_rc=2)
    assert 'Not pushing to s3://%s/prod/: no successful pull' % name in refused.task('Sync the store')['result']['msg']
    assert 'Contents' not in client.list_objects_v2(Bucket=name)

    assert run('pulled')[1]['pulled'] == []
    result, pushed = run('pushed', args=('-vvv',))
    assert pushed['changed'] is True
    assert sorted(pushed['pushed']) == sorted(files)
    assert pushed['bucket'] == name and pushed['prefix'] == 'prod/'
    # Every object is encrypted at rest and carries its hash; the keys are there.
    current = _current(client, name)
    assert sorted(current) == sorted(files)
    for rel, data in files.items():
        head = client.head_object(Bucket=name, Key=current[rel])
        assert head['ServerSideEncryption'] == 'AES256', rel
        assert head['ContentLength'] == len(data)
    for rel in KEY_FILES:
        assert client.get_object(Bucket=name, Key=current[rel])['Body'].read() == files[rel]
    # No key material in the output, even at -vvv.
    for rel in KEY_FILES:
        body = files[rel].decode().splitlines()[1]
        assert body not in result.stdout + result.stderr

    assert run('pushed')[1]['changed'] is False

    # A fresh AWX container: the working copy is gone.
    shutil.rmtree(root)
    pulled = run('pulled')[1]
    assert pulled['changed'] is True and sorted(pulled['pulled']) == sorted(files)
    assert pulled['working_copy'] == root
    assert _mode(root) == 0o700
    for rel, data in files.items():
        with open(os.path.join(root, rel), 'rb') as handle:
            assert handle.read() == data, rel
        assert _mode(os.path.join(root, rel)) == (0o600 if rel in KEY_FILES else 0o644), rel

    again = run('pulled')[1]
    assert again['changed'] is False and again['pulled'] == []
    assert run('pushed')[1]['changed'] is False

    # A renewal changes one certificate: only its files go up.
    with open(os.path.join(root, 'app1', 'cert.pem'), 'ab') as handle:
        handle.write(b'\n')
    assert run('pushed')[1]['pushed'] == ['app1/cert.pem']


def test_two_runs_never_put_the_store_backwards(moto_s3, bucket, run_playbook, tmp_path):
    """Two AWX jobs renew the same certificate: the one that pushes second is refused."""
    client, name = bucket
    first, second = str(tmp_path / 'job1'), str(tmp_path / 'job2')
    _working_copy(first)

    def run(state, root, **kwargs):
        extra = dict(sync_state=state, working_copy=root, bucket=name, prefix='prod',
                     endpoint=moto_s3.endpoint_url)
        return run_playbook(PLAYBOOK, extra, **kwargs)

    run('pulled', first)
    run('pushed', first)
    run('pulled', first)
    run('pulled', second)
    newer = {}
    for root, tag in ((second, b'job2'), (first, b'job1')):
        for rel in ('app1/privkey.pem', 'app1/cert.pem'):
            with open(os.path.join(root, rel), 'ab') as handle:
                handle.write(b'# renewed by ' + tag + b'\n')
    for rel in ('app1/privkey.pem', 'app1/cert.pem'):
        with open(os.path.join(second, rel), 'rb') as handle:
            newer[rel] = handle.read()
    assert run('pushed', second).task('Sync the store')['result']['pushed'] == ['app1/privkey.pem', 'app1/cert.pem']
    refused = run('pushed', first, expect_rc=2).task('Sync the store')['result']
    assert refused['msg'].startswith('Refusing to push to s3://%s/prod/: s3://%s/prod/app1/privkey.pem, '
                                     's3://%s/prod/app1/cert.pem changed in the bucket' % (name, name, name))
    assert refused['conflicts'] == ['s3://%s/prod/app1/privkey.pem' % name, 's3://%s/prod/app1/cert.pem' % name]
    current = _current(client, name)
    for rel, data in newer.items():
        assert client.get_object(Bucket=name, Key=current[rel])['Body'].read() == data
    # The refused job's next run pulls the newer pair: key and certificate still belong together.
    run('pulled', first)
    for rel, data in newer.items():
        with open(os.path.join(first, rel), 'rb') as handle:
            assert handle.read() == data


def test_missing_bucket_fails_with_the_url_and_the_fix(moto_s3, run_playbook, tmp_path):
    extra = dict(sync_state='pulled', working_copy=str(tmp_path / 'wc'), bucket='autotls-missing-bucket',
                 prefix='prod/', endpoint=moto_s3.endpoint_url)
    result = run_playbook(PLAYBOOK, extra, expect_rc=2)
    record = result.task('Sync the store')
    assert record['failed'] is True
    msg = record['result']['msg']
    assert msg.startswith('Failed to read the manifest s3://autotls-missing-bucket/prod/.autotls-manifest.json: '
                          'NoSuchBucket')
    assert 'create it, or set store.bucket' in msg


def test_local_store_only_makes_the_directory(run_playbook, tmp_path):
    store_path = str(tmp_path / 'local-store')
    first = run_playbook(LOCAL_PLAYBOOK, dict(sync_state='pulled', store_path=store_path))
    out = first.task('Sync the local store')['result']
    assert out['changed'] is True and out['type'] == 'local' and out['working_copy'] == store_path
    assert _mode(store_path) == 0o700
    second = run_playbook(LOCAL_PLAYBOOK, dict(sync_state='pushed', store_path=store_path))
    assert second.task('Sync the local store')['changed'] is False
