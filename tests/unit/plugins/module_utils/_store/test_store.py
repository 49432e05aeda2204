# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The certificate store: working copy and S3 sync, against a real moto server."""

import datetime
import json
import os
import re
import stat

import pytest
from botocore.exceptions import ClientError

from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import generate_private_key, private_key_to_pem
from ansible_collections.autotls.acme.plugins.module_utils._store.lease import LEASE_NAME, LeaseLost
from ansible_collections.autotls.acme.plugins.module_utils._store.manifest import MANIFEST_NAME
from ansible_collections.autotls.acme.plugins.module_utils._store.store import (
    PENDING_DIR,
    RETIRE_GRACE,
    STATE_FILE,
    S3Store,
    StoreConflict,
    StoreError,
    WorkingCopy,
    _hint,
    is_key_file,
    normalize_prefix,
    s3_client,
    safe_relpath,
    sha256_hex,
    store_from_params,
    sync,
    version_name,
)

BUCKET = 'autotls-unit'


def _fresh_key_pem():
    """A throwaway key made at run time: no key material lives in the repository."""
    return private_key_to_pem(generate_private_key('ec256'))


CA = make_ca('autotls store unit CA')


def cert_set(name='app1'):
    """The four files of a certificate (real, signed by CA), as the certificate module writes them."""
    cert, key = make_server_cert(CA[0], CA[1], names=('%s.example.test' % name,), ips=())
    return {'%s/cert.pem' % name: cert_pem(cert), '%s/chain.pem' % name: cert_pem(CA[0]),
            '%s/fullchain.pem' % name: cert_pem(cert) + cert_pem(CA[0]), '%s/privkey.pem' % name: key_pem(key)}


def serial_of(files, name='app1'):
    from cryptography import x509
    return '%x' % x509.load_pem_x509_certificate(files['%s/cert.pem' % name]).serial_number


FILES = dict({'account.pem': _fresh_key_pem(), 'ca-root.pem': cert_pem(CA[0])}, **cert_set())


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _populate(root, files=None):
    for rel, data in (files or FILES).items():
        path = os.path.join(root, *rel.split('/'))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
    return root


@pytest.fixture
def admin(moto):
    client = moto.client('s3')
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def s3(aws_options, admin):  # pylint: disable=unused-argument
    return S3Store(s3_client(aws_options), BUCKET, prefix='team/')


# ---------------------------------------------------------------- helpers

def test_key_files_paths_and_prefixes():
    assert is_key_file('account.pem') and is_key_file('app1/privkey.pem') and is_key_file('x/tls-key.pem')
    assert not is_key_file('app1/fullchain.pem') and not is_key_file('ca-root.pem')
    # A key rollover's new account key (the module's pending file, account.yml's default dest).
    assert is_key_file('account.pem.new') and is_key_file('account-new.pem')
    assert not is_key_file('app1/chain.pem')
    assert safe_relpath('app1/cert.pem') == 'app1/cert.pem'
    for bad in ('', '/etc/passwd', '../x', 'a/../b', 'a//b', '.hidden', 'a/.tmp.x', 'a\\b', 'a/'):
        assert safe_relpath(bad) is None, bad
    assert normalize_prefix(None) == 'autotls/'
    assert normalize_prefix('/prod') == 'prod/'
    assert normalize_prefix('') == ''


def test_working_copy_files_skip_dotfiles_and_links(tmp_path):
    root = _populate(str(tmp_path / 'wc'))
    with open(os.path.join(root, 'app1', '.privkey.pem.x1y2'), 'wb') as handle:
        handle.write(b'half-written temp file')
    os.symlink('/etc/hostname', os.path.join(root, 'link.pem'))
    os.makedirs(os.path.join(root, '.git'))
    with open(os.path.join(root, '.git', 'config'), 'wb') as handle:
        handle.write(b'x')
    assert sorted(WorkingCopy(root).files()) == sorted(FILES)


def test_working_copy_write_modes_and_ensure(tmp_path):
    copy = WorkingCopy(str(tmp_path / 'new' / 'wc'))
    assert copy.ensure(check_mode=True) is True
    assert not os.path.exists(copy.path)
    assert copy.ensure() is True
    assert _mode(copy.path) == 0o700
    assert copy.ensure() is False
    os.chmod(copy.path, 0o755)
    assert copy.ensure() is True and _mode(copy.path) == 0o700
    copy.write('app1/privkey.pem', b'k')
    copy.write('app1/cert.pem', b'c')
    assert _mode(copy.abspath('app1/privkey.pem')) == 0o600
    assert _mode(copy.abspath('app1/cert.pem')) == 0o644
    assert _mode(os.path.dirname(copy.abspath('app1/cert.pem'))) == 0o700
    assert sorted(os.listdir(os.path.dirname(copy.abspath('app1/cert.pem')))) == ['cert.pem', 'privkey.pem']


# ---------------------------------------------------------------- S3 sync

def _objects(admin, prefix='team/'):
    return {item['Key'][len(prefix):]: item for item in admin.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
            .get('Contents', [])}


def _manifest(admin, prefix='team/'):
    return json.loads(admin.get_object(Bucket=BUCKET, Key=prefix + MANIFEST_NAME)['Body'].read())


def _write(copy, files):
    for rel, data in files.items():
        copy.write(rel, data)


def test_push_writes_new_objects_then_the_manifest(s3, admin, tmp_path):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    # Check mode without a pull record: what differs from the store.
    assert s3.push(copy, check_mode=True) == ['account.pem', 'ca-root.pem', 'app1/privkey.pem', 'app1/cert.pem',
                                              'app1/chain.pem', 'app1/fullchain.pem']
    assert 'Contents' not in admin.list_objects_v2(Bucket=BUCKET)
    # A first run against an empty bucket: the pull records it, the push seeds it with everything.
    assert s3.pull(copy) == ([], [])
    pushed = s3.push(copy, holder='job 1')
    assert sorted(pushed) == sorted(FILES)
    # The key goes up before the certificate of the same directory.
    assert pushed.index('app1/privkey.pem') < pushed.index('app1/cert.pem')
    manifest = _manifest(admin)
    assert manifest['generation'] == 1 and manifest['holder'] == 'job 1'
    assert sorted(manifest['files']) == sorted(FILES)
    assert manifest['certificates'] == {'app1': dict(
        dir='app1', serial=serial_of(FILES), files=sorted(rel for rel in FILES if rel.startswith('app1/')),
        not_after=manifest['certificates']['app1']['not_after'])}
    objects = _objects(admin)
    for rel, data in FILES.items():
        entry = manifest['files'][rel]
        assert entry['sha256'] == sha256_hex(data)
        assert entry['key'].startswith(rel + '.') and entry['key'] in objects
        head = admin.head_object(Bucket=BUCKET, Key='team/' + entry['key'])
        assert head['ServerSideEncryption'] == 'AES256'
        assert head['Metadata'] == {'sha256': sha256_hex(data)}
        assert admin.get_object(Bucket=BUCKET, Key='team/' + entry['key'])['Body'].read() == data
    assert s3.push(copy) == []
    assert _manifest(admin)['generation'] == 1
    # The state file is never synced and is private.
    assert STATE_FILE not in WorkingCopy(copy.path).files()
    assert _mode(copy.state_path()) == 0o600

    # A renewal: the certificate goes up as a whole, to new objects; the old ones are retired.
    renewed = cert_set()
    _write(copy, renewed)
    assert s3.push(copy, check_mode=True) == ['app1/privkey.pem', 'app1/cert.pem', 'app1/fullchain.pem']
    assert s3.push(copy, holder='job 2') == ['app1/privkey.pem', 'app1/cert.pem', 'app1/fullchain.pem']
    second = _manifest(admin)
    assert second['generation'] == 2 and second['certificates']['app1']['serial'] == serial_of(renewed)
    assert second['files']['app1/chain.pem'] == manifest['files']['app1/chain.pem']
    assert sorted(second['retired']) == sorted(manifest['files'][rel]['key'] for rel in
                                               ('app1/privkey.pem', 'app1/cert.pem', 'app1/fullchain.pem'))
    assert s3.push(copy) == []
    # An hour later the next push deletes the superseded objects.
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=RETIRE_GRACE + 60)
    _write(copy, {'account.pem': _fresh_key_pem()})
    assert s3.push(copy, now=later) == ['account.pem']
    third = _manifest(admin)
    assert list(third['retired']) == [second['files']['account.pem']['key']]
    assert sorted(_objects(admin)) == sorted([entry['key'] for entry in third['files'].values()]
                                             + list(third['retired']) + [MANIFEST_NAME])


def test_push_needs_a_successful_pull(s3, admin, tmp_path):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    with pytest.raises(StoreError, match=r'Not pushing to s3://autotls-unit/team/: no successful pull'):
        s3.push(copy)
    assert 'Contents' not in admin.list_objects_v2(Bucket=BUCKET)
    # A record made for another prefix does not count.
    other = S3Store(s3.client, BUCKET, prefix='other/')
    other.pull(copy)
    with pytest.raises(StoreError, match='no successful pull'):
        s3.push(copy)
    assert 'Contents' not in admin.list_objects_v2(Bucket=BUCKET, Prefix='team/')


def test_push_sends_only_what_this_run_wrote(s3, admin, tmp_path):
    """Files only in the working copy, or stale there, never go up: only what changed since the pull."""
    first = WorkingCopy(_populate(str(tmp_path / 'first')))
    s3.pull(first)
    s3.push(first)
    other = WorkingCopy(str(tmp_path / 'other'))
    s3.pull(other)
    newer = cert_set()
    _write(other, newer)
    s3.push(other)
    # A controller's old working copy holds a leftover file and the old app1.
    stale = WorkingCopy(str(tmp_path / 'first'))
    stale.write('leftover/notes.pem', b'not the store\'s')
    s3.pull(stale)
    assert stale.read('app1/cert.pem') == newer['app1/cert.pem']
    stale.write('app1/chain.pem', cert_pem(make_ca('another chain')[0]))
    assert s3.push(stale) == ['app1/chain.pem']
    manifest = _manifest(admin)
    assert 'leftover/notes.pem' not in manifest['files']
    assert manifest['certificates']['app1']['serial'] == serial_of(newer)


def test_push_refuses_a_certificate_another_run_changed(s3, admin, tmp_path):
    mine = WorkingCopy(_populate(str(tmp_path / 'mine')))
    s3.pull(mine)
    s3.push(mine)
    theirs = WorkingCopy(str(tmp_path / 'theirs'))
    s3.pull(theirs)
    s3.pull(mine)
    # Another run renews app1 and pushes first.
    their_set = cert_set()
    _write(theirs, their_set)
    assert s3.push(theirs) == ['app1/privkey.pem', 'app1/cert.pem', 'app1/fullchain.pem']
    before = _manifest(admin)
    # This run renewed app1 too: refused as a whole, before any upload, naming the objects.
    _write(mine, cert_set())
    objects = sorted(_objects(admin))
    with pytest.raises(StoreConflict) as info:
        s3.push(mine)
    assert ('s3://autotls-unit/team/app1/privkey.pem, s3://autotls-unit/team/app1/cert.pem, '
            's3://autotls-unit/team/app1/fullchain.pem changed in the bucket') in info.value.msg
    assert 'Nothing was uploaded' in info.value.msg
    assert info.value.details['conflicts'][0] == 's3://autotls-unit/team/app1/privkey.pem'
    assert sorted(_objects(admin)) == objects and _manifest(admin) == before
    # A run that changed another certificate meanwhile is merged: both are listed.
    other = WorkingCopy(str(tmp_path / 'other'))
    s3.pull(other)
    s3.pull(theirs)
    _write(other, cert_set('app2'))
    _write(theirs, cert_set())
    s3.push(theirs)
    assert s3.push(other) == ['app2/privkey.pem', 'app2/cert.pem', 'app2/chain.pem', 'app2/fullchain.pem']
    merged = _manifest(admin)
    assert sorted(merged['certificates']) == ['app1', 'app2']
    assert merged['certificates']['app1']['serial'] == serial_of({'app1/cert.pem': theirs.read('app1/cert.pem')})


def test_the_store_never_lists_a_mismatched_pair(s3, admin, tmp_path):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    before = _manifest(admin)
    copy.write('app1/privkey.pem', _fresh_key_pem())   # a key that is not app1's
    with pytest.raises(StoreError, match=r'app1/privkey.pem is not the key of app1/cert.pem'):
        s3.push(copy)
    assert _manifest(admin) == before


def test_a_half_failed_push_leaves_the_previous_snapshot(s3, admin, tmp_path, monkeypatch):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    before = _manifest(admin)
    _write(copy, cert_set())
    real_put = S3Store.put

    def failing_put(self, name, data, **kwargs):
        if name.startswith('app1/cert.pem'):   # the key went up, then the network failed
            raise StoreError('Failed to upload %s: connection reset' % self.url(name))
        return real_put(self, name, data, **kwargs)

    monkeypatch.setattr(S3Store, 'put', failing_put)
    with pytest.raises(StoreError, match=r'connection reset .*not made current.*previous complete snapshot'):
        s3.push(copy)
    monkeypatch.undo()
    assert _manifest(admin) == before
    # A reader gets the old pair, whole.
    reader = WorkingCopy(str(tmp_path / 'reader'))
    s3.pull(reader)
    for rel, data in FILES.items():
        assert reader.read(rel) == data
    # The same run's next push completes it.
    assert s3.push(copy) == ['app1/privkey.pem', 'app1/cert.pem', 'app1/fullchain.pem']


def test_a_pull_reads_only_the_manifest_snapshot(s3, admin, tmp_path):
    """Objects of a push that has not written its manifest yet are never read."""
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    # An issuer mid-write: new objects are there, the manifest is still the old one.
    renewed = cert_set()
    for rel, data in renewed.items():
        s3.put(version_name(rel), data, must_be_new=True)
    admin.put_object(Bucket=BUCKET, Key='team/app1/cert.pem', Body=renewed['app1/cert.pem'])  # by hand, too
    reader = WorkingCopy(str(tmp_path / 'reader'))
    pulled, skipped = s3.pull(reader)
    assert sorted(pulled) == sorted(FILES) and skipped == []
    for rel, data in FILES.items():
        assert reader.read(rel) == data
    assert s3.manifest['certificates']['app1']['serial'] == serial_of(FILES)
    # An object changed by hand behind the manifest's back is refused, nothing written.
    key = _manifest(admin)['files']['app1/cert.pem']['key']
    admin.put_object(Bucket=BUCKET, Key='team/' + key, Body=renewed['app1/cert.pem'])
    fresh = WorkingCopy(str(tmp_path / 'fresh'))
    with pytest.raises(StoreError, match='does not hold the content the manifest'):
        s3.pull(fresh)
    assert fresh.files() == {}


def test_a_failed_pull_writes_nothing_and_blocks_the_push(s3, admin, tmp_path, monkeypatch):
    source = WorkingCopy(_populate(str(tmp_path / 'source')))
    s3.pull(source)
    s3.push(source)
    # The store gets a new key and certificate for app1; this run still has the old ones.
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    renewed = cert_set()
    _write(source, renewed)
    s3.push(source)
    real_get = S3Store.get

    def failing_get(self, name):
        if name.startswith('app1/cert.pem'):   # the key came down, then the network failed
            raise StoreError('Failed to download %s: connection reset' % self.url(name))
        return real_get(self, name)

    monkeypatch.setattr(S3Store, 'get', failing_get)
    with pytest.raises(StoreError, match='connection reset'):
        s3.pull(copy)
    monkeypatch.undo()
    # Nothing was written: the old key stays beside the old certificate.
    assert copy.read('app1/privkey.pem') == FILES['app1/privkey.pem']
    assert copy.read('app1/cert.pem') == FILES['app1/cert.pem']
    assert not os.path.exists(copy.state_path())
    with pytest.raises(StoreError, match='no successful pull'):
        s3.push(copy)


def test_pull_into_an_empty_working_copy(s3, admin, tmp_path):
    source = WorkingCopy(_populate(str(tmp_path / 'source')))
    s3.pull(source)
    s3.push(source)
    copy = WorkingCopy(str(tmp_path / 'fresh'))

    pulled, skipped = s3.pull(copy, check_mode=True)
    assert sorted(pulled) == sorted(FILES)
    assert not os.path.exists(copy.path)

    result = sync(dict(store=dict(type='s3', bucket=BUCKET, prefix='team/'), path=copy.path,
                       aws_endpoint_url=s3.client.meta.endpoint_url, aws_access_key='testing',
                       aws_secret_key='testing', aws_region='us-east-1'), 'pulled')
    assert result['changed'] is True and sorted(result['pulled']) == sorted(FILES)
    assert result['skipped'] == []
    assert result['manifest']['certificates']['app1']['serial'] == serial_of(FILES)
    assert result['bucket'] == BUCKET and result['prefix'] == 'team/' and result['working_copy'] == copy.path
    assert _mode(copy.path) == 0o700
    for rel, data in FILES.items():
        assert copy.read(rel) == data
        assert _mode(copy.abspath(rel)) == (0o600 if rel in ('account.pem', 'app1/privkey.pem') else 0o644)

    pulled, skipped = s3.pull(copy)
    assert pulled == [] and skipped == []
    # A key that became readable by others is put back to 0600, content untouched.
    os.chmod(copy.abspath('app1/privkey.pem'), 0o644)
    assert s3.pull(copy)[0] == ['app1/privkey.pem']
    assert _mode(copy.abspath('app1/privkey.pem')) == 0o600
    # A local change is overwritten by the store's content; local-only files stay.
    with open(copy.abspath('app1/chain.pem'), 'wb') as handle:
        handle.write(b'stale')
    with open(copy.abspath('notes.txt'), 'wb') as handle:
        handle.write(b'mine')
    assert s3.pull(copy)[0] == ['app1/chain.pem']
    assert copy.read('app1/chain.pem') == FILES['app1/chain.pem']
    assert copy.read('notes.txt') == b'mine'


def test_a_store_without_manifest_is_read_by_listing(s3, admin, tmp_path):
    for rel, data in FILES.items():
        admin.put_object(Bucket=BUCKET, Key='team/' + rel, Body=data)
    admin.put_object(Bucket=BUCKET, Key='team/', Body=b'')                  # a console "folder"
    admin.put_object(Bucket=BUCKET, Key='team/../escape.pem', Body=b'x')    # never outside the copy
    admin.put_object(Bucket=BUCKET, Key='team/app1/cert.pem.20261201T000000Z-0123abcd', Body=b'x')  # unfinished
    copy = WorkingCopy(str(tmp_path / 'wc'))
    pulled, skipped = s3.pull(copy)
    assert sorted(pulled) == sorted(FILES)
    assert skipped == ['s3://%s/team/../escape.pem: not a safe relative path' % BUCKET]
    assert not os.path.exists(os.path.join(str(tmp_path), 'escape.pem'))
    # The first push that changes something writes the first manifest; unchanged files keep their objects.
    renewed = cert_set()
    _write(copy, renewed)
    s3.push(copy)
    manifest = _manifest(admin)
    assert manifest['files']['ca-root.pem']['key'] == 'ca-root.pem'
    assert manifest['certificates']['app1']['serial'] == serial_of(renewed)


def test_missing_bucket_names_the_url_and_the_fix(aws_options, moto):  # pylint: disable=unused-argument
    store = S3Store(s3_client(aws_options), 'no-such-autotls-bucket')
    with pytest.raises(StoreError) as info:
        store.list()
    assert info.value.msg.startswith('Failed to list s3://no-such-autotls-bucket/autotls/: NoSuchBucket')
    assert 'create it, or set store.bucket' in info.value.msg
    assert info.value.details['aws_error_code'] == 'NoSuchBucket'


def test_hints_for_access_denied_and_kms():
    denied = ClientError({'Error': {'Code': 'AccessDenied', 'Message': 'Access Denied'}}, 'PutObject')
    store = S3Store(None, 'b', prefix='p/', sse='aws:kms', kms_key_id='alias/x')
    error = store._failure('upload', 'app1/cert.pem', denied)  # pylint: disable=protected-access
    assert error.msg.startswith('Failed to upload s3://b/p/app1/cert.pem: AccessDenied: Access Denied. ')
    assert 's3:PutObject on arn:aws:s3:::b/p/*' in error.msg and 'kms:GenerateDataKey' in error.msg
    assert 'kms_key_id' in _hint('KMS.NotFoundException', store)
    assert 'aws_region' in _hint('PermanentRedirect', store)
    assert _hint('SomethingElse', store) == ''


def test_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError, match='store directory is the working copy'):
        store_from_params(dict(store=dict(type='local', path=str(tmp_path / 'a')), path=str(tmp_path / 'b')))
    with pytest.raises(ConfigurationError, match='path .* is required with store.type s3'):
        store_from_params(dict(store=dict(type='s3', bucket='b')))
    with pytest.raises(ConfigurationError, match='kms_key_id needs store.sse set to aws:kms'):
        S3Store(None, 'b', kms_key_id='alias/x')


def test_local_store_ensures_the_directory_and_writes_the_manifest(tmp_path):
    target = str(tmp_path / 'local-store')
    params = dict(store=dict(type='local', path=target), path=None, lease_holder='nightly')
    assert sync(params, 'pulled', check_mode=True)['changed'] is True
    assert not os.path.exists(target)
    result = sync(params, 'pushed')
    assert result['changed'] is True and result['pushed'] == [] and result['type'] == 'local'
    assert result['working_copy'] == target and result['manifest'] == {}
    assert _mode(target) == 0o700
    assert sync(params, 'pulled')['changed'] is False
    # The same directory given as path too is fine.
    assert sync(dict(params, path=target + '/'), 'pushed')['changed'] is False
    # An issuing run wrote a certificate: the push lists it with its serial; a second push changes nothing.
    _populate(target)
    result = sync(params, 'pushed')
    assert result['changed'] is True
    assert result['manifest']['certificates']['app1']['serial'] == serial_of(FILES)
    assert result['manifest']['holder'] == 'nightly' and result['manifest']['generation'] == 1
    with open(os.path.join(target, MANIFEST_NAME), 'rb') as handle:
        listed = json.loads(handle.read())['files']
    assert {rel: entry['sha256'] for rel, entry in listed.items()} == {rel: sha256_hex(d) for rel, d in FILES.items()}
    assert sync(params, 'pushed')['changed'] is False
    assert sync(params, 'pulled')['manifest']['certificates']['app1']['serial'] == serial_of(FILES)
    # A key that is not the certificate's is refused; the manifest stays the last good one.
    with open(os.path.join(target, 'app1', 'privkey.pem'), 'wb') as handle:
        handle.write(_fresh_key_pem())
    with pytest.raises(StoreError, match='app1/privkey.pem is not the key of app1/cert.pem'):
        sync(params, 'pushed')
    with open(os.path.join(target, MANIFEST_NAME), 'rb') as handle:
        assert json.loads(handle.read())['files'] == listed


def test_a_certificate_set_aside_leaves_the_manifest(s3, admin, tmp_path):
    """Retirement moves certs/<name>/ aside in the working copy: the push takes it out of the store's snapshot."""
    copy = WorkingCopy(_populate(str(tmp_path / 'wc'), dict(FILES, **cert_set('app2'))))
    s3.pull(copy)
    s3.push(copy)
    s3.pull(copy)
    serial = serial_of(FILES)
    os.makedirs(copy.abspath('retired/app1'))
    os.rename(copy.abspath('app1'), copy.abspath('retired/app1/' + serial))
    assert s3.push(copy, check_mode=True) == ['retired/app1/%s/privkey.pem' % serial, 'retired/app1/%s/cert.pem' % serial,
                                              'retired/app1/%s/chain.pem' % serial,
                                              'retired/app1/%s/fullchain.pem' % serial]
    assert s3.removed == ['app1/privkey.pem', 'app1/cert.pem', 'app1/chain.pem', 'app1/fullchain.pem']
    s3.push(copy)
    manifest = _manifest(admin)
    assert sorted(manifest['certificates']) == ['app2']   # a set kept aside is no certificate
    assert not [rel for rel in manifest['files'] if rel.startswith('app1/')]
    assert 'retired/app1/%s/cert.pem' % serial in manifest['files']
    # A deploy's fresh pull no longer brings it back; a second push changes nothing.
    reader = WorkingCopy(str(tmp_path / 'reader'))
    s3.pull(reader)
    assert not os.path.exists(reader.abspath('app1')) and reader.read('app2/cert.pem') is not None
    assert s3.push(copy) == [] and s3.removed == []
    result = sync(dict(store=dict(type='s3', bucket=BUCKET, prefix='team/'), path=copy.path,
                       aws_endpoint_url=s3.client.meta.endpoint_url, aws_access_key='testing',
                       aws_secret_key='testing', aws_region='us-east-1'), 'pushed')
    assert result['changed'] is False and result['removed'] == []


def test_an_object_deleted_by_hand_stops_the_pull_naming_it(s3, admin, tmp_path):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    key = _manifest(admin)['files']['app1/privkey.pem']['key']
    admin.delete_object(Bucket=BUCKET, Key='team/' + key)
    fresh = WorkingCopy(str(tmp_path / 'fresh'))
    with pytest.raises(StoreError, match=r'the object s3://autotls-unit/team/%s that its manifest lists for '
                                         r'app1/privkey.pem is missing' % re.escape(key)):
        s3.pull(fresh)
    assert fresh.files() == {}


# ---------------------------------------------------------------- a lost lease, objects never made current

def _lease_params(aws_options, path, holder='job A'):
    return dict(aws_options, store=dict(type='s3', bucket=BUCKET, prefix='team/'), path=path, lease_holder=holder,
                lease_duration=600, lease_wait=0)


def test_a_push_whose_lease_was_taken_over_writes_no_manifest(aws_options, admin, tmp_path, monkeypatch):
    """The lease ends while the push uploads and another job takes it: the previous manifest stays."""
    params = _lease_params(aws_options, str(tmp_path / 'wc'))
    lease_id = sync(params, 'acquired')['lease']['id']
    sync(params, 'pulled')
    _populate(params['path'])
    sync(dict(params, lease_id=lease_id), 'pushed')
    before, objects = _manifest(admin), sorted(_objects(admin))
    _write(WorkingCopy(params['path']), cert_set())
    real_put = S3Store.put

    def put_and_lose_the_lease(self, name, data, **kwargs):
        etag = real_put(self, name, data, **kwargs)
        record = json.loads(admin.get_object(Bucket=BUCKET, Key='team/' + LEASE_NAME)['Body'].read())
        record.update(holder='job B', id='b' * 32)
        admin.put_object(Bucket=BUCKET, Key='team/' + LEASE_NAME, Body=json.dumps(record).encode())
        return etag

    monkeypatch.setattr(S3Store, 'put', put_and_lose_the_lease)
    with pytest.raises(LeaseLost) as info:
        sync(dict(params, lease_id=lease_id), 'pushed')
    monkeypatch.undo()
    assert 'no longer holds the lease' in info.value.msg and 'job B' in info.value.msg
    assert 'previous complete snapshot' in info.value.msg and 'deleted again' in info.value.msg
    assert _manifest(admin) == before
    # The objects this push uploaded are gone again; everything the manifest lists is still there.
    assert sorted(_objects(admin)) == objects


def test_a_failed_manifest_write_deletes_only_what_no_manifest_lists(s3, admin, tmp_path, monkeypatch):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    before, objects = _manifest(admin), sorted(_objects(admin))
    _write(copy, cert_set())
    real_write = S3Store.write_manifest

    def refused(self, manifest, expected_etag):
        raise StoreError('Failed to write the manifest %s: AccessDenied' % self.url(MANIFEST_NAME))

    monkeypatch.setattr(S3Store, 'write_manifest', refused)
    with pytest.raises(StoreError, match='AccessDenied .*deleted again'):
        s3.push(copy)
    assert _manifest(admin) == before and sorted(_objects(admin)) == objects

    def written_then_timed_out(self, manifest, expected_etag):
        real_write(self, manifest, expected_etag)
        raise StoreError('Failed to write the manifest %s: read timeout' % self.url(MANIFEST_NAME))

    monkeypatch.setattr(S3Store, 'write_manifest', written_then_timed_out)
    with pytest.raises(StoreError, match='read timeout'):
        s3.push(copy)
    monkeypatch.undo()
    # The write did reach the bucket: what it lists stays, and a reader gets the new pair whole.
    written = _manifest(admin)
    assert written['generation'] == before['generation'] + 1
    assert all(entry['key'] in _objects(admin) for entry in written['files'].values())
    reader = WorkingCopy(str(tmp_path / 'reader'))
    s3.pull(reader)
    assert reader.read('app1/cert.pem') == copy.read('app1/cert.pem')


def _crashing_push(s3, copy, monkeypatch):
    """A push that dies after its uploads, before its manifest (the process killed): nothing cleans up."""
    listed = {entry['key'] for entry in json.loads(s3.get(MANIFEST_NAME)[0])['files'].values()}

    def killed(*args):
        raise RuntimeError('killed')

    with monkeypatch.context() as patch:
        patch.setattr(s3, 'write_manifest', killed)
        with pytest.raises(RuntimeError):
            s3.push(copy)
    return [name for name in s3.list() if name.startswith('account.pem.') and name not in listed]


def test_a_later_push_sweeps_what_a_crashed_push_left(s3, admin, tmp_path, monkeypatch):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    _write(copy, {'account.pem': _fresh_key_pem()})
    orphans = _crashing_push(s3, copy, monkeypatch)
    assert len(orphans) == 1
    # Named like a push's object, but no push's record names it: never deleted.
    foreign = version_name('app1/cert.pem')
    admin.put_object(Bucket=BUCKET, Key='team/' + foreign, Body=b'not ours')
    admin.put_object(Bucket=BUCKET, Key='team/notes.txt', Body=b'not ours')
    _write(copy, {'account.pem': _fresh_key_pem()})
    s3.push(copy)
    assert orphans[0] in _objects(admin)   # younger than the grace period: it may be a running push's
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=RETIRE_GRACE + 60)
    _write(copy, {'account.pem': _fresh_key_pem()})
    s3.push(copy, now=later)
    objects = _objects(admin)
    manifest = _manifest(admin)
    assert orphans[0] not in objects and 'notes.txt' in objects and foreign in objects
    # The records go with them; a push that finished deleted its own.
    assert not [name for name in objects if name.startswith(PENDING_DIR)], sorted(objects)
    assert all(entry['key'] in objects for entry in manifest['files'].values())
    assert all(name in objects for name in manifest.get('retired', {}))


def test_the_sweep_leaves_a_store_nested_under_the_prefix_alone(s3, admin, tmp_path):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    # A second store under this one's prefix (team/ and team/staging/), and one at the bucket's root.
    for prefix in ('team/staging/', ''):
        other = S3Store(s3.client, BUCKET, prefix=prefix)
        other_copy = WorkingCopy(_populate(str(tmp_path / ('other-' + (prefix.strip('/') or 'root')))))
        other.pull(other_copy)
        other.push(other_copy)
    nested = {name: item['ETag'] for name, item in _objects(admin, 'team/staging/').items()}
    root = _manifest(admin, '')
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=RETIRE_GRACE + 60)
    _write(copy, {'account.pem': _fresh_key_pem()})
    s3.push(copy, now=later)
    assert {name: item['ETag'] for name, item in _objects(admin, 'team/staging/').items()} == nested
    assert all(entry['key'] in _objects(admin, '') for entry in root['files'].values())


def test_without_a_manifest_nothing_is_swept(s3, admin, tmp_path, monkeypatch):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    _write(copy, {'account.pem': _fresh_key_pem()})
    orphans = _crashing_push(s3, copy, monkeypatch)
    before = set(_objects(admin))
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=RETIRE_GRACE + 60)
    # The manifest deleted by hand: nothing tells the current files from the unfinished push's.
    warnings = s3._sweep(None, set(), later)
    assert set(_objects(admin)) == before and orphans[0] in before
    assert len(warnings) == 1 and 'no manifest' in warnings[0] and PENDING_DIR in warnings[0], warnings
