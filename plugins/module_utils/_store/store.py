# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where issued certificates and keys live between runs.

AWX starts every job in a fresh container, so the controller keeps a working copy (a
local directory) and syncs it with the store: pull at the start, push at the end.

* :class:`WorkingCopy` is the local directory: regular files only, dot-files (temporary
  files of atomic writes) left out, every write atomic with its mode set before the
  first byte. Key files get 0600, everything else 0644, directories 0700.
* :class:`S3Store` is an S3 bucket and prefix. Each object carries the SHA-256 of its
  content in its metadata (``x-amz-meta-sha256``); uploads always use server-side
  encryption.
* The store never goes backwards. A pull downloads everything it needs before it writes
  anything, then records what it saw (each object's ETag, each local file's SHA-256) in
  the working copy's state file (:data:`STATE_FILE`, a dot-file, never synced). A push
  needs that record: it uploads only the files that changed since the pull (what this
  run wrote) and those the bucket has no object for, refuses before uploading anything when one of their objects changed in the
  bucket since the pull, and makes every upload conditional on the ETag it recorded
  (``If-Match``; ``If-None-Match: *`` for a new object), so a concurrent writer is never
  overwritten.
* A local store is a directory that *is* the working copy: pull and push only make sure
  it exists with mode 0700.

Relative paths use ``/`` in both places; the object key is ``prefix + relative path``.
Nothing here ever logs or returns file contents.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import (
    HAS_BOTO3,
    BotoCoreError,
    ClientError,
    aws_error_code,
    aws_failure,
    aws_session,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError

try:
    from botocore.config import Config
except ImportError:
    Config = None  # HAS_BOTO3 is False then; s3_client() says so before using it.

DEFAULT_PREFIX = 'autotls/'
SSE_CHOICES = ('AES256', 'aws:kms')
DIR_MODE = 0o700
FILE_MODE = 0o644
KEY_MODE = 0o600
# Certificates, chains and keys are a few kilobytes; anything far bigger under the
# prefix is not ours and is not pulled into the working copy.
MAX_OBJECT_SIZE = 1024 * 1024
_METADATA_KEY = 'sha256'
_NOT_FOUND = ('404', 'NoSuchKey', 'NotFound')
# What S3 answers when a conditional write finds another object than the one expected.
_CONDITION_FAILED = ('PreconditionFailed', '412', 'ConditionalRequestConflict', '409')
# The record of the last successful pull (and the pushes after it), in the working copy.
STATE_FILE = '.autotls-store-state.json'
_STATE_VERSION = 1


class StoreError(AutoTLSError):
    """The store could not be read or written; the message says what to change."""


class StoreConflict(StoreError):
    """An object changed in the bucket since this run pulled it; it was not overwritten."""


def is_key_file(relpath):
    """Private keys: ``privkey.pem``, ``account.pem``, anything ending in ``key.pem``."""
    name = relpath.rsplit('/', 1)[-1]
    return name == 'account.pem' or name.endswith('key.pem')


def file_mode(relpath):
    return KEY_MODE if is_key_file(relpath) else FILE_MODE


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def safe_relpath(relpath):
    """``relpath`` if it stays inside the working copy and names no dot-file, else None."""
    if not relpath or relpath.startswith('/') or '\\' in relpath or '\0' in relpath:
        return None
    parts = relpath.split('/')
    if any(not part or part.startswith('.') for part in parts):
        return None
    return relpath


def normalize_prefix(prefix):
    prefix = (prefix if prefix is not None else DEFAULT_PREFIX).lstrip('/')
    if prefix and not prefix.endswith('/'):
        prefix += '/'
    return prefix


def _sync_order(relpaths):
    """Keys before certificates in each directory, so a certificate never lands without its key."""
    return sorted(relpaths, key=lambda p: (p.rsplit('/', 1)[0] if '/' in p else '', not is_key_file(p), p))


class WorkingCopy:
    """The controller's local directory of certificates and keys."""

    def __init__(self, path):
        if not path:
            raise ConfigurationError('path (the local working copy) is required')
        self.path = os.path.abspath(os.path.expanduser(path))

    def abspath(self, relpath):
        return os.path.join(self.path, *relpath.split('/'))

    def ensure(self, check_mode=False):
        """Make the directory exist with mode 0700; returns whether anything changed."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            if not check_mode:
                try:
                    os.makedirs(self.path, mode=DIR_MODE)
                    os.chmod(self.path, DIR_MODE)  # makedirs' mode is filtered by the umask
                except OSError as exc:
                    raise StoreError('Failed to create the directory %s: %s' % (self.path, exc.strerror or exc))
            return True
        if not stat.S_ISDIR(current.st_mode):
            raise StoreError('%s exists and is not a directory; set path to a directory' % self.path)
        if stat.S_IMODE(current.st_mode) != DIR_MODE:
            if not check_mode:
                os.chmod(self.path, DIR_MODE)
            return True
        return False

    def files(self):
        """``{relpath: size}`` of the regular files below the directory (no dot-files, no links)."""
        found = {}
        if not os.path.isdir(self.path):
            return found
        for dirpath, dirnames, filenames in os.walk(self.path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.')
                                 and not os.path.islink(os.path.join(dirpath, d)))
            for name in sorted(filenames):
                if name.startswith('.'):
                    continue
                full = os.path.join(dirpath, name)
                info = os.lstat(full)
                if not stat.S_ISREG(info.st_mode):
                    continue
                rel = os.path.relpath(full, self.path).replace(os.sep, '/')
                found[rel] = info.st_size
        return found

    def read(self, relpath):
        """Bytes of ``relpath``, or None when it does not exist."""
        try:
            with open(self.abspath(relpath), 'rb') as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError('Failed to read %s: %s' % (self.abspath(relpath), exc.strerror or exc))

    def mode(self, relpath):
        return stat.S_IMODE(os.stat(self.abspath(relpath)).st_mode)

    def write(self, relpath, data):
        """Replace ``relpath`` atomically with ``data`` at its mode; new directories get 0700."""
        target = self.abspath(relpath)
        try:
            self._write(target, data, file_mode(relpath))
        except OSError as exc:
            raise StoreError('Failed to write %s: %s' % (target, exc.strerror or exc))

    @staticmethod
    def _write(target, data, mode):
        directory = os.path.dirname(target)
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=DIR_MODE)
        atomic_write(target, data, mode)

    # -- the record of the last pull ---------------------------------------
    def state_path(self):
        return os.path.join(self.path, STATE_FILE)

    def read_state(self, url):
        """The pull record for the store at ``url``, or None (none, unreadable, another store)."""
        try:
            with open(self.state_path(), 'rb') as handle:
                state = json.loads(handle.read().decode('utf-8'))
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict) or state.get('version') != _STATE_VERSION or state.get('store') != url \
                or not isinstance(state.get('objects'), dict) or not isinstance(state.get('files'), dict):
            return None
        return state

    def write_state(self, url, objects, files):
        """Record ``objects`` ({relpath: etag}) and ``files`` ({relpath: sha256}) for ``url``."""
        data = json.dumps(dict(version=_STATE_VERSION, store=url, objects=objects, files=files),
                          sort_keys=True, indent=1).encode('utf-8')
        try:
            if not os.path.isdir(self.path):
                os.makedirs(self.path, mode=DIR_MODE)
            atomic_write(self.state_path(), data, KEY_MODE)
        except OSError as exc:
            raise StoreError('Failed to write %s: %s' % (self.state_path(), exc.strerror or exc))

    def forget_state(self):
        try:
            os.unlink(self.state_path())
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError('Failed to remove %s: %s' % (self.state_path(), exc.strerror or exc))

    def checksums(self):
        """``{relpath: sha256}`` of every synced file."""
        found = {}
        for relpath in self.files():
            data = self.read(relpath)
            if data is not None:
                found[relpath] = sha256_hex(data)
        return found

    def set_mode(self, relpath):
        try:
            os.chmod(self.abspath(relpath), file_mode(relpath))
        except OSError as exc:
            raise StoreError('Failed to set the mode of %s: %s' % (self.abspath(relpath), exc.strerror or exc))


def s3_client(options, max_attempts=10, connect_timeout=10, read_timeout=60):
    """An S3 client for a module's ``params`` (credentials and endpoint as for Route53)."""
    session = aws_session(options, max_attempts=max_attempts, connect_timeout=connect_timeout,
                          read_timeout=read_timeout)
    config = Config(retries={'mode': 'standard', 'max_attempts': int(max_attempts)},
                    connect_timeout=connect_timeout, read_timeout=read_timeout,
                    user_agent_extra='autotls.acme')
    return session.client('s3', region_name=options.get('aws_region') or session.region_name,
                          endpoint_url=options.get('aws_endpoint_url') or None, config=config)


class S3Store:
    """A bucket and prefix holding the files of a working copy."""

    def __init__(self, client, bucket, prefix=DEFAULT_PREFIX, sse='AES256', kms_key_id=None):
        if not bucket:
            raise ConfigurationError('store.bucket is required with store.type s3')
        if sse not in SSE_CHOICES:
            raise ConfigurationError('store.sse must be one of %s, not %r' % (', '.join(SSE_CHOICES), sse))
        if kms_key_id and sse != 'aws:kms':
            raise ConfigurationError('store.kms_key_id needs store.sse set to aws:kms')
        self.client = client
        self.bucket = bucket
        self.prefix = normalize_prefix(prefix)
        self.sse = sse
        self.kms_key_id = kms_key_id

    def url(self, relpath=''):
        return 's3://%s/%s%s' % (self.bucket, self.prefix, relpath)

    def key(self, relpath):
        return self.prefix + relpath

    def _failure(self, verb, relpath, exc):
        """A StoreError "Failed to <verb> s3://bucket/key: <AWS error>. <what to change>"."""
        err = aws_failure('%s %s' % (verb, self.url(relpath)), exc, bucket=self.bucket, key=self.key(relpath))
        hint = _hint(aws_error_code(exc), self)
        return StoreError(err.msg + ('. ' + hint if hint else ''), **err.details)

    def list(self):
        """``{relpath: {'size': int, 'etag': str}}`` of the objects under the prefix."""
        found = {}
        try:
            paginator = self.client.get_paginator('list_objects_v2')
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get('Contents', []):
                    found[item['Key'][len(self.prefix):]] = dict(
                        size=item.get('Size', 0), etag=(item.get('ETag') or '').strip('"'))
        except (BotoCoreError, ClientError) as exc:
            raise self._failure('list', '', exc)
        return found

    def head(self, relpath):
        """The object's metadata dict (with ``sse``), or None if it does not exist."""
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=self.key(relpath))
        except ClientError as exc:
            if aws_error_code(exc) in _NOT_FOUND:
                return None
            raise self._failure('read', relpath, exc)
        except BotoCoreError as exc:
            raise self._failure('read', relpath, exc)
        return dict(sha256=(response.get('Metadata') or {}).get(_METADATA_KEY),
                    sse=response.get('ServerSideEncryption'))

    def get(self, relpath):
        """``(data, etag)`` of the object."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(relpath))
            return response['Body'].read(), (response.get('ETag') or '').strip('"')
        except (BotoCoreError, ClientError) as exc:
            raise self._failure('download', relpath, exc)

    def put(self, relpath, data, expected_etag=None, must_be_new=False):
        """Upload ``data``; returns the new ETag.

        ``expected_etag``: only replace the object if it still has this ETag (``If-Match``).
        ``must_be_new``: only create it if it does not exist (``If-None-Match: *``). Either
        refusal raises a :class:`StoreConflict` naming the object.
        """
        digest = hashlib.sha256(data)
        kwargs = dict(Bucket=self.bucket, Key=self.key(relpath), Body=data,
                      ContentType='application/x-pem-file' if relpath.endswith('.pem') else 'application/octet-stream',
                      Metadata={_METADATA_KEY: digest.hexdigest()},
                      ChecksumSHA256=base64.b64encode(digest.digest()).decode('ascii'),
                      ServerSideEncryption=self.sse)
        if self.kms_key_id:
            kwargs['SSEKMSKeyId'] = self.kms_key_id
        if expected_etag:
            kwargs['IfMatch'] = '"%s"' % expected_etag
        elif must_be_new:
            kwargs['IfNoneMatch'] = '*'
        try:
            response = self.client.put_object(**kwargs)
        except ClientError as exc:
            if aws_error_code(exc) in _CONDITION_FAILED or (
                    expected_etag and aws_error_code(exc) in _NOT_FOUND):
                raise StoreConflict(
                    'Refusing to overwrite %s: it changed in the bucket after this run pulled it (%s); '
                    'another run or a person wrote it. Nothing newer was replaced. Run the job again: its '
                    'pull brings the newer files first' % (self.url(relpath), 'it was removed' if aws_error_code(exc)
                                                           in _NOT_FOUND else 'conditional write refused'),
                    conflicts=[self.url(relpath)])
            raise self._failure('upload', relpath, exc)
        except BotoCoreError as exc:
            raise self._failure('upload', relpath, exc)
        return (response.get('ETag') or '').strip('"')

    # -- sync -------------------------------------------------------------
    def push(self, copy, check_mode=False):
        """Upload the files this run changed since its pull; returns their relative paths.

        Needs the record of a successful pull of this store into ``copy`` (see
        :meth:`pull`); without it nothing is uploaded, so a run whose pull failed can never
        put older files over newer ones. A file is uploaded when its SHA-256 differs from
        the one recorded after the pull. Before any upload, the ETag of each
        of their objects is compared with the one recorded at the pull: if one changed, the
        push is refused as a whole, naming the objects. A file the bucket had no object for
        at the pull goes up too (only if no object appeared since: ``If-None-Match``). Each upload is conditional on that
        ETag too, for a writer that slips in between. Objects without a local file are left
        alone. In check mode, returns what would be uploaded (without a pull record: every
        file whose object is missing or differs).
        """
        url = self.url()
        state = copy.read_state(url)
        if state is None:
            if check_mode:
                return self._differing(copy)
            raise StoreError(
                'Not pushing to %s: no successful pull of it into %s is recorded (%s). The store is only '
                'pushed after a pull that succeeded, so that it never goes backwards: run the store module '
                'with state=pulled first, and fix what made the pull fail' % (url, copy.path, STATE_FILE))
        objects, recorded = dict(state['objects']), dict(state['files'])
        local = copy.checksums()
        wanted = [rel for rel in _sync_order(local) if rel not in objects or recorded.get(rel) != local[rel]]
        if not wanted:
            return []
        remote = self.list()
        conflicts = [rel for rel in wanted if (remote.get(rel) or {}).get('etag') != objects.get(rel)]
        if conflicts:
            raise StoreConflict(
                'Refusing to push to %s: %s changed in the bucket after this run pulled %s; another run or a '
                'person wrote %s. Nothing was uploaded. Run the job again: its pull brings the newer files first'
                % (url, ', '.join(self.url(rel) for rel in conflicts), 'them' if len(conflicts) > 1 else 'it',
                   'them' if len(conflicts) > 1 else 'it'),
                conflicts=[self.url(rel) for rel in conflicts])
        if check_mode:
            return wanted
        pushed = []
        try:
            for relpath in wanted:
                data = copy.read(relpath)
                if data is None:
                    continue  # removed while we looked
                etag = self.put(relpath, data, expected_etag=objects.get(relpath),
                                must_be_new=relpath not in objects)
                objects[relpath], recorded[relpath] = etag, sha256_hex(data)
                pushed.append(relpath)
        except StoreError as exc:
            if pushed:
                exc.msg += ' (already uploaded in this push: %s)' % ', '.join(pushed)
                exc.args = (exc.msg,)
            exc.details.setdefault('pushed', pushed)
            raise
        finally:
            # What went up is now what this copy "pulled": a second push sends nothing again.
            copy.write_state(url, objects, recorded)
        return pushed

    def _differing(self, copy):
        """Files whose object is missing or has another hash (check mode without a pull record)."""
        remote = self.list()
        differing = []
        for relpath in _sync_order(copy.files()):
            data = copy.read(relpath)
            if data is None:
                continue
            current = self.head(relpath) if relpath in remote else None
            if not current or current['sha256'] != sha256_hex(data):
                differing.append(relpath)
        return differing

    def pull(self, copy, check_mode=False):
        """Make ``copy`` hold the bucket's files; record what was seen for the next push.

        Every object that differs from its local file is downloaded before anything is
        written, so a pull that fails (network, permissions) leaves the working copy as it
        was and records no pull: a later push then refuses. Files only in the working copy
        stay. Returns ``(pulled, skipped)``: relative paths written (content or mode), and
        keys not pulled with the reason (outside the working copy, a dot-file, too big).
        """
        if not check_mode:
            copy.forget_state()
        skipped, etags, downloads, modes = [], {}, {}, []
        remote = self.list()
        for relpath in _sync_order(remote):
            if relpath == '' or relpath.endswith('/'):
                continue  # "folder" placeholders made by consoles
            if safe_relpath(relpath) is None:
                skipped.append('%s: not a safe relative path' % self.url(relpath))
                continue
            if remote[relpath]['size'] > MAX_OBJECT_SIZE:
                skipped.append('%s: larger than %d bytes' % (self.url(relpath), MAX_OBJECT_SIZE))
                continue
            local = copy.read(relpath)
            etags[relpath] = remote[relpath]['etag']
            if local is not None and len(local) == remote[relpath]['size'] \
                    and _md5_hex(local) == remote[relpath]['etag']:
                data = local  # the ETag of an unencrypted or SSE-S3 single-part upload is its MD5
            else:
                data, etags[relpath] = self.get(relpath)
            if local != data:
                downloads[relpath] = data
            elif copy.mode(relpath) != file_mode(relpath):
                modes.append(relpath)
        pulled = _sync_order(list(downloads) + modes)
        if check_mode:
            return pulled, skipped
        for relpath in pulled:
            if relpath in downloads:
                copy.write(relpath, downloads[relpath])
            else:
                copy.set_mode(relpath)
        copy.write_state(self.url(), etags, copy.checksums())
        return pulled, skipped


def _md5_hex(data):
    """MD5 only to compare with an S3 ETag; None where MD5 is unavailable (FIPS)."""
    try:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    except (TypeError, ValueError):
        return None


def _hint(code, store):
    if code == 'NoSuchBucket':
        return 'The bucket %s does not exist: create it, or set store.bucket to an existing bucket' % store.bucket
    if code in ('AccessDenied', '403', 'Forbidden', 'AllAccessDisabled'):
        hint = ('Access denied: the credentials need s3:ListBucket on arn:aws:s3:::%s and s3:GetObject and '
                's3:PutObject on arn:aws:s3:::%s/%s*' % (store.bucket, store.bucket, store.prefix))
        if store.sse == 'aws:kms':
            hint += ', plus kms:GenerateDataKey and kms:Decrypt on the KMS key'
        return hint
    if code and (code.startswith('KMS') or code == 'InvalidArgument') and store.sse == 'aws:kms':
        return 'Check store.kms_key_id (a key id, alias/name or ARN in the bucket\'s region) and its key policy'
    if code in ('InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken'):
        return 'Check the AWS credentials (aws_access_key, aws_secret_key, aws_session_token or aws_profile)'
    if code in ('PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException'):
        return 'The bucket is in another region: set aws_region to the bucket\'s region'
    return ''


def store_from_params(params):
    """``(kind, store_or_None, working_copy)`` for a module's params; validates the combination."""
    options = params.get('store') or {}
    kind = options.get('type') or 'local'
    if kind == 'local':
        local = options.get('path')
        if not local:
            raise ConfigurationError('store.path is required with store.type local')
        local = os.path.abspath(os.path.expanduser(local))
        if params.get('path') and os.path.abspath(os.path.expanduser(params['path'])) != local:
            raise ConfigurationError(
                'With store.type local the store directory is the working copy: leave out path, '
                'or set it to store.path (%s)' % local)
        return kind, None, WorkingCopy(local)
    if kind != 's3':
        raise ConfigurationError("store.type must be 'local' or 's3', not %r" % (kind,))
    if not params.get('path'):
        raise ConfigurationError('path (the local working copy) is required with store.type s3')
    if not HAS_BOTO3:
        raise ConfigurationError('boto3 and botocore are required for store.type s3')
    store = S3Store(s3_client(params), options.get('bucket'), prefix=options.get('prefix'),
                    sse=options.get('sse') or 'AES256', kms_key_id=options.get('kms_key_id'))
    return kind, store, WorkingCopy(params['path'])


def sync(params, state, check_mode=False):
    """Pull or push per ``state`` (``pulled``/``pushed``); returns the module's result dict."""
    kind, store, copy = store_from_params(params)
    result = dict(changed=False, pulled=[], pushed=[], skipped=[], working_copy=copy.path, type=kind)
    if store is not None:
        result.update(bucket=store.bucket, prefix=store.prefix)
    dir_changed = copy.ensure(check_mode) if (store is None or state == 'pulled') else False
    if store is not None and state == 'pulled':
        result['pulled'], result['skipped'] = store.pull(copy, check_mode)
    elif store is not None and state == 'pushed':
        if not os.path.isdir(copy.path):
            raise ConfigurationError('Nothing to push: the working copy %s does not exist' % copy.path)
        result['pushed'] = store.push(copy, check_mode)
    result['changed'] = bool(dir_changed or result['pulled'] or result['pushed'])
    return result
