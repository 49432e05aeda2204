"""The certificate store: working copy and S3 sync, against a real moto server."""

import os
import stat

import pytest
from botocore.exceptions import ClientError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import generate_private_key, private_key_to_pem
from ansible_collections.autotls.acme.plugins.module_utils._store.store import (
    S3Store,
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
    assert s3.push(copy, check_mode=True) == ['account.pem', 'ca-root.pem', 'app1/privkey.pem', 'app1/cert.pem',
                                              'app1/chain.pem', 'app1/fullchain.pem']
    assert 'Contents' not in admin.list_objects_v2(Bucket=BUCKET)

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

    with open(copy.abspath('app1/cert.pem'), 'wb') as handle:
        handle.write(b'renewed')
    assert s3.push(copy) == ['app1/cert.pem']
    assert s3.push(copy) == []


def test_push_reuploads_objects_without_our_hash_or_encryption(s3, admin, tmp_path):
    copy = WorkingCopy(_populate(str(tmp_path / 'wc'), {'app1/cert.pem': b'same'}))
    # Same bytes, but put there by someone else without metadata or encryption.
    admin.put_object(Bucket=BUCKET, Key='team/app1/cert.pem', Body=b'same')
    assert s3.push(copy) == ['app1/cert.pem']
    assert s3.push(copy) == []
    kms = S3Store(s3.client, BUCKET, prefix='team/', sse='aws:kms')
    assert kms.push(copy) == ['app1/cert.pem']
    assert admin.head_object(Bucket=BUCKET, Key='team/app1/cert.pem')['ServerSideEncryption'] == 'aws:kms'
    assert kms.push(copy) == []


def test_pull_into_an_empty_working_copy(s3, admin, tmp_path):
    s3.push(WorkingCopy(_populate(str(tmp_path / 'source'))))
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
