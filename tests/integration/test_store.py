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
import threading
import time
import uuid

import pytest
from cryptography import x509

from ansible_collections.autotls.acme.plugins.module_utils._store.lease import LEASE_NAME
from ansible_collections.autotls.acme.plugins.module_utils._store.manifest import MANIFEST_NAME
from ansible_collections.autotls.acme.plugins.module_utils._store.store import S3Store, WorkingCopy
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import key_matches_certificate
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


# -- the lease and the manifest, as the issuing and deploying stages use them ----------------

ISSUER = r'''
- hosts: localhost
  gather_facts: false
  module_defaults:
    autotls.acme.store:
      aws_endpoint_url: "{{ endpoint | default(omit) }}"
  tasks:
    - name: Issue under the store's lease
      block:
        - name: Take the store's lease
          autotls.acme.store:
            state: acquired
            store: "{{ store }}"
            lease_wait: "{{ lease_wait }}"
            lease_holder: "{{ holder }}"
          register: issuer_lease

        - name: Pull the store
          autotls.acme.store:
            state: pulled
            path: "{{ working_copy | default(omit) }}"
            store: "{{ store }}"

        - name: Issue (the test's new certificate)
          ansible.builtin.copy:
            src: "{{ new_set }}/"
            dest: "{{ working_copy | default(store.path) }}/app1/"
            mode: "0600"

        - name: Go on when the test says so
          ansible.builtin.wait_for:
            path: "{{ go_file }}"
            timeout: 120
          when: go_file is defined

        - name: Push the store
          autotls.acme.store:
            state: pushed
            path: "{{ working_copy | default(omit) }}"
            store: "{{ store }}"
            lease_id: "{{ issuer_lease.lease.id }}"
          register: issuer_push
      always:
        - name: Give the lease up
          autotls.acme.store:
            state: released
            store: "{{ store }}"
            lease_id: "{{ issuer_lease.lease.id | default('') }}"
'''


def _cert_set(directory, ca):
    """A new certificate and key for app1 in `directory`; returns its serial (hex)."""
    cert, key = make_server_cert(ca[0], ca[1], names=('app1.example.test',), ips=())
    os.makedirs(directory, exist_ok=True)
    for name, data in (('cert.pem', cert_pem(cert)), ('chain.pem', cert_pem(ca[0])),
                       ('fullchain.pem', cert_pem(cert) + cert_pem(ca[0])), ('privkey.pem', key_pem(key))):
        with open(os.path.join(directory, name), 'wb') as handle:
            handle.write(data)
    return '%x' % cert.serial_number


def _whole_pair(directory):
    """The serial of `directory`/cert.pem, asserting that privkey.pem is its key."""
    with open(os.path.join(directory, 'cert.pem'), 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(directory, 'privkey.pem'), 'rb') as handle:
        assert key_matches_certificate(handle.read(), cert), directory
    return '%x' % cert.serial_number


def _wait_for(probe, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, 'gave up waiting for %s' % what
        time.sleep(0.2)


def test_overlapping_issuers_and_a_deploy_in_between(moto_s3, bucket, run_playbook, tmp_path):
    """Issuer A holds the lease: issuer B stops naming it, a deploy reads the previous snapshot,
    readers during A's push always get a whole pair; then an ended lease is taken over."""
    client, name = bucket
    ca = make_ca('autotls lease test CA')
    s3_store = dict(type='s3', bucket=name, prefix='prod/')
    local_store = dict(type='local', path=str(tmp_path / 'local-store'))
    serials = {tag: _cert_set(str(tmp_path / tag), ca) for tag in ('set0', 'set1', 'set2', 'local1', 'local2')}
    go = {kind: str(tmp_path / ('go-' + kind)) for kind in ('s3', 'local')}

    def issuer(tag, holder, store, wait=0, go_file=None, expect_rc=0):
        extra = dict(store=store, lease_wait=wait, holder=holder, new_set=str(tmp_path / tag),
                     endpoint=moto_s3.endpoint_url)
        if store['type'] == 's3':
            extra['working_copy'] = str(tmp_path / ('wc-' + holder.replace(' ', '-')))
        if go_file:
            extra['go_file'] = go_file
        return run_playbook(ISSUER, extra, expect_rc=expect_rc)

    def deploy_pull(root):
        store = S3Store(client, name, prefix='prod/')
        store.pull(WorkingCopy(root))
        return _whole_pair(os.path.join(root, 'app1')), store.manifest

    # The first issuer seeds the bucket.
    issuer('set0', 'issuer 0', s3_store)
    assert deploy_pull(str(tmp_path / 'deploy-0'))[0] == serials['set0']

    outcome = {}
    holders = [threading.Thread(target=lambda: outcome.update(
        s3=issuer('set1', 'issuer A', s3_store, go_file=go['s3']))),
        threading.Thread(target=lambda: outcome.update(
            local=issuer('local1', 'issuer A', local_store, go_file=go['local'])))]
    for thread in holders:
        thread.start()
    try:
        lease_key = 'prod/' + LEASE_NAME
        _wait_for(lambda: 'Contents' in client.list_objects_v2(Bucket=name, Prefix=lease_key), 'the S3 lease')
        _wait_for(lambda: os.path.exists(os.path.join(local_store['path'], LEASE_NAME)), 'the local lease')

        # Issuer B, on either store, waits its lease_wait, stops naming A, writes nothing, releases nothing.
        for store, tag in ((s3_store, 'set2'), (local_store, 'local2')):
            second = issuer(tag, 'issuer B', store, wait=2, expect_rc=2)
            refused = second.task("Take the store's lease")['result']
            assert refused['msg'].startswith('The store is leased to issuer A until '), refused['msg']
            assert 'Waited 2 s' in refused['msg'] and refused['holder'] == 'issuer A'
            assert second.tasks('Push the store') == []
            assert second.task('Give the lease up')['result']['released'] is False
        assert json.loads(client.get_object(Bucket=name, Key=lease_key)['Body'].read())['holder'] == 'issuer A'

        # A deploy while A works reads the previous complete snapshot.
        serial, manifest = deploy_pull(str(tmp_path / 'deploy-1'))
        assert serial == serials['set0'] and manifest['certificates']['app1']['serial'] == serials['set0']

        # Readers while A pushes: every pull is a whole pair of one snapshot or the next.
        for path in go.values():
            open(path, 'w').close()
        seen = []
        while holders[0].is_alive():
            seen.append(deploy_pull(str(tmp_path / ('reader-%d' % len(seen))))[0])
        assert set(seen) <= {serials['set0'], serials['set1']}
    finally:
        for path in go.values():
            open(path, 'w').close()
        for thread in holders:
            thread.join(180)
    for kind in ('s3', 'local'):
        pushed = outcome[kind].task('Push the store')['result']
        assert pushed['lease']['holder'] == 'issuer A'
        assert pushed['manifest']['holder'] == 'issuer A'
        assert outcome[kind].task('Give the lease up')['result']['released'] is True
    assert 'Contents' not in client.list_objects_v2(Bucket=name, Prefix=lease_key)
    assert not os.path.exists(os.path.join(local_store['path'], LEASE_NAME))
    assert _whole_pair(os.path.join(local_store['path'], 'app1')) == serials['local1']
    assert deploy_pull(str(tmp_path / 'deploy-2'))[0] == serials['set1']

    # A crashed issuer's lease ended: the next issuer takes it over and says whose it was.
    client.put_object(Bucket=name, Key=lease_key, Body=json.dumps(dict(
        id='c' * 32, holder='AWX job 40 (crashed)', expires_epoch=time.time() - 60)).encode())
    third = issuer('set2', 'issuer C', s3_store)
    assert third.task("Take the store's lease")['result']['took_over']['holder'] == 'AWX job 40 (crashed)'
    serial, manifest = deploy_pull(str(tmp_path / 'deploy-3'))
    assert serial == serials['set2'] and manifest['holder'] == 'issuer C'
    assert 'Contents' not in client.list_objects_v2(Bucket=name, Prefix=lease_key)
