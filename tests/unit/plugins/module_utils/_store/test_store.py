# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The certificate store: working copy and S3 sync, against a real moto server."""

import os
import stat

import pytest
from botocore.exceptions import ClientError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import generate_private_key, private_key_to_pem
from ansible_collections.autotls.acme.plugins.module_utils._store.store import (
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
)

BUCKET = 'autotls-unit'


def _fresh_key_pem():
    """A throwaway key made at run time: no key material lives in the repository."""
    return private_key_to_pem(generate_private_key('ec256'))


FILES = {
    'account.pem': _fresh_key_pem(),
    'ca-root.pem': b'-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n',
    'app1/cert.pem': b'-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n',
    'app1/chain.pem': b'-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n',
    'app1/fullchain.pem': b'-----BEGIN CERTIFICATE-----\nleaf+intermediate\n-----END CERTIFICATE-----\n',
    'app1/privkey.pem': _fresh_key_pem(),
}


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

def test_push_encrypts_and_is_idempotent(s3, admin, tmp_path):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    # Check mode without a pull record: what differs from the bucket.
    assert s3.push(copy, check_mode=True) == ['account.pem', 'ca-root.pem', 'app1/privkey.pem', 'app1/cert.pem',
                                              'app1/chain.pem', 'app1/fullchain.pem']
    assert 'Contents' not in admin.list_objects_v2(Bucket=BUCKET)
    # A first run against an empty bucket: the pull records it, the push sends everything.
    assert s3.pull(copy) == ([], [])
    pushed = s3.push(copy)
    assert sorted(pushed) == sorted(FILES)
    # The key goes up before the certificate of the same directory.
    assert pushed.index('app1/privkey.pem') < pushed.index('app1/cert.pem')
    for rel, data in FILES.items():
        head = admin.head_object(Bucket=BUCKET, Key='team/' + rel)
        assert head['ServerSideEncryption'] == 'AES256'
        assert head['Metadata'] == {'sha256': sha256_hex(data)}
        assert admin.get_object(Bucket=BUCKET, Key='team/' + rel)['Body'].read() == data
    assert s3.push(copy) == []
    # The state file is never synced and is private.
    assert STATE_FILE not in WorkingCopy(copy.path).files()
    assert _mode(copy.state_path()) == 0o600

    with open(copy.abspath('app1/cert.pem'), 'wb') as handle:
        handle.write(b'renewed')
    assert s3.push(copy, check_mode=True) == ['app1/cert.pem']
    assert s3.push(copy) == ['app1/cert.pem']
    assert s3.push(copy) == []


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
    """A stale working copy never puts its old files over the bucket's newer ones."""
    s3.pull(WorkingCopy(_populate(str(tmp_path / 'first'))))
    s3.push(WorkingCopy(str(tmp_path / 'first')))
    newer = dict(FILES, **{'app1/cert.pem': b'newer cert', 'app1/privkey.pem': _fresh_key_pem()})
    for rel in ('app1/privkey.pem', 'app1/cert.pem'):
        s3.put(rel, newer[rel])
    stale = WorkingCopy(str(tmp_path / 'first'))
    s3.pull(stale)
    assert stale.read('app1/cert.pem') == b'newer cert'
    with open(stale.abspath('app1/chain.pem'), 'wb') as handle:
        handle.write(b'this run wrote the chain')
    assert s3.push(stale) == ['app1/chain.pem']
    assert admin.get_object(Bucket=BUCKET, Key='team/app1/cert.pem')['Body'].read() == b'newer cert'


def test_push_refuses_objects_changed_since_the_pull(s3, admin, tmp_path):
    mine = WorkingCopy(_populate(str(tmp_path / 'mine')))
    s3.pull(mine)
    s3.push(mine)
    theirs = WorkingCopy(str(tmp_path / 'theirs'))
    s3.pull(theirs)
    s3.pull(mine)
    # Another run renews app1 and pushes first.
    for rel in ('app1/privkey.pem', 'app1/cert.pem'):
        with open(theirs.abspath(rel), 'wb') as handle:
            handle.write(b'theirs ' + rel.encode())
    assert s3.push(theirs) == ['app1/privkey.pem', 'app1/cert.pem']
    # This run renewed app1 too: refused as a whole, before any upload, naming the objects.
    for rel in ('app1/privkey.pem', 'app1/cert.pem'):
        with open(mine.abspath(rel), 'wb') as handle:
            handle.write(b'mine ' + rel.encode())
    with pytest.raises(StoreConflict) as info:
        s3.push(mine)
    assert 's3://autotls-unit/team/app1/privkey.pem, s3://autotls-unit/team/app1/cert.pem changed in the bucket' \
        in info.value.msg
    assert 'Nothing was uploaded' in info.value.msg
    assert info.value.details['conflicts'] == ['s3://autotls-unit/team/app1/privkey.pem',
                                               's3://autotls-unit/team/app1/cert.pem']
    for rel in ('app1/privkey.pem', 'app1/cert.pem'):
        assert admin.get_object(Bucket=BUCKET, Key='team/' + rel)['Body'].read() == b'theirs ' + rel.encode()
    # A new object that someone else created meanwhile is not overwritten either.
    with open(mine.abspath('app2.pem'), 'wb') as handle:
        handle.write(b'mine')
    s3.pull(mine)   # brings theirs back; app2.pem is local only
    admin.put_object(Bucket=BUCKET, Key='team/app2.pem', Body=b'theirs')
    with pytest.raises(StoreConflict, match='team/app2.pem changed in the bucket'):
        s3.push(mine)


def test_conditional_write_catches_a_writer_that_slips_in(s3, admin, tmp_path):
    """Between the check and the upload another writer may land: S3 itself refuses (If-Match)."""
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    s3.push(copy)
    etag = admin.head_object(Bucket=BUCKET, Key='team/app1/cert.pem')['ETag'].strip('"')
    admin.put_object(Bucket=BUCKET, Key='team/app1/cert.pem', Body=b'slipped in')
    with pytest.raises(StoreConflict, match=r'Refusing to overwrite s3://autotls-unit/team/app1/cert.pem'):
        s3.put('app1/cert.pem', b'mine', expected_etag=etag)
    with pytest.raises(StoreConflict):
        s3.put('app1/cert.pem', b'mine', must_be_new=True)
    assert admin.get_object(Bucket=BUCKET, Key='team/app1/cert.pem')['Body'].read() == b'slipped in'


def test_a_failed_pull_writes_nothing_and_blocks_the_push(s3, admin, tmp_path, monkeypatch):
    source = WorkingCopy(_populate(str(tmp_path / 'source')))
    s3.pull(source)
    s3.push(source)
    # The bucket gets a new key and certificate for app1; this run still has the old ones.
    copy = WorkingCopy(_populate(str(tmp_path / 'wc')))
    s3.pull(copy)
    renewed = {'app1/privkey.pem': _fresh_key_pem(), 'app1/cert.pem': b'renewed cert'}
    for rel, data in renewed.items():
        s3.put(rel, data)
    real_get = S3Store.get

    def failing_get(self, relpath):
        if relpath == 'app1/cert.pem':   # the key came down, then the network failed
            raise StoreError('Failed to download %s: connection reset' % self.url(relpath))
        return real_get(self, relpath)

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
    for rel, data in renewed.items():
        assert admin.get_object(Bucket=BUCKET, Key='team/' + rel)['Body'].read() == data


def test_pull_into_an_empty_working_copy(s3, admin, tmp_path):
    source = WorkingCopy(_populate(str(tmp_path / 'source')))
    s3.pull(source)
    s3.push(source)
    admin.put_object(Bucket=BUCKET, Key='team/', Body=b'')                  # a console "folder"
    admin.put_object(Bucket=BUCKET, Key='team/../escape.pem', Body=b'x')    # never outside the copy
    admin.put_object(Bucket=BUCKET, Key='other/app9/cert.pem', Body=b'x')  # another prefix
    copy = WorkingCopy(str(tmp_path / 'fresh'))

    pulled, skipped = s3.pull(copy, check_mode=True)
    assert sorted(pulled) == sorted(FILES)
    assert not os.path.exists(copy.path)

    result = sync(dict(store=dict(type='s3', bucket=BUCKET, prefix='team/'), path=copy.path,
                       aws_endpoint_url=s3.client.meta.endpoint_url, aws_access_key='testing',
                       aws_secret_key='testing', aws_region='us-east-1'), 'pulled')
    assert result['changed'] is True and sorted(result['pulled']) == sorted(FILES)
    assert result['skipped'] == ['s3://%s/team/../escape.pem: not a safe relative path' % BUCKET]
    assert result['bucket'] == BUCKET and result['prefix'] == 'team/' and result['working_copy'] == copy.path
    assert _mode(copy.path) == 0o700
    for rel, data in FILES.items():
        assert copy.read(rel) == data
        assert _mode(copy.abspath(rel)) == (0o600 if rel in ('account.pem', 'app1/privkey.pem') else 0o644)
    assert not os.path.exists(os.path.join(str(tmp_path), 'escape.pem'))

    pulled, skipped = s3.pull(copy)
    assert pulled == [] and len(skipped) == 1
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


def test_local_store_only_ensures_the_directory(tmp_path):
    target = str(tmp_path / 'local-store')
    params = dict(store=dict(type='local', path=target), path=None)
    assert sync(params, 'pulled', check_mode=True)['changed'] is True
    assert not os.path.exists(target)
    result = sync(params, 'pushed')
    assert result == dict(changed=True, pulled=[], pushed=[], skipped=[], working_copy=target, type='local')
    assert _mode(target) == 0o700
    assert sync(params, 'pulled')['changed'] is False
    # The same directory given as path too is fine.
    assert sync(dict(params, path=target + '/'), 'pushed')['changed'] is False
