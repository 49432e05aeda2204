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
import datetime
import hashlib
import json
import os
import re
import stat
import uuid

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
from ansible_collections.autotls.acme.plugins.module_utils._store import manifest as manifest_mod
from ansible_collections.autotls.acme.plugins.module_utils._store import lease as lease_mod
from ansible_collections.autotls.acme.plugins.module_utils._store.lease import (
    DEFAULT_DURATION,
    DEFAULT_WAIT,
    LEASE_NAME,
    Lease,
    LocalLeaseBackend,
    S3LeaseBackend,
    check_timing,
    default_holder,
)
from ansible_collections.autotls.acme.plugins.module_utils._store.manifest import MANIFEST_NAME

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
_STATE_VERSION = 2
# Objects the manifest no longer lists are deleted this long after (a reader that read the
# previous manifest has long finished its downloads by then; if not, it starts again).
RETIRE_GRACE = 3600
# The name of a file's object: <relpath>.<UTC time>-<8 hex> (see version_name).
_VERSION_SUFFIX = re.compile(r'\.[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$')
# Before its first upload a push records the object names it is about to write here
# (<time>-<8 hex>.json, {"keys": [...]}), and deletes the record once its manifest is
# written. A later push deletes only what such a record names: never an object of another
# store nested under this one's prefix, or of one at a prefix above it.
PENDING_DIR = '.autotls-pending/'


class StoreError(AutoTLSError):
    """The store could not be read or written; the message says what to change."""


class StoreConflict(StoreError):
    """An object changed in the bucket since this run pulled it; it was not overwritten."""


def is_key_file(relpath):
    """Private keys: ``privkey.pem``, anything ending in ``key.pem``, and the account's keys
    ``account*.pem*`` (``account.pem``, and a key rollover's new key, ``account.pem.new`` or
    ``account.pem.pending``, which a run that stopped half-way leaves in the store)."""
    name = relpath.rsplit('/', 1)[-1]
    return name.endswith('key.pem') or (name.startswith('account') and '.pem' in name)


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
                or not isinstance(state.get('snapshot'), dict) or not isinstance(state.get('files'), dict):
            return None
        return state

    def write_state(self, url, manifest_etag, snapshot, files):
        """Record what was pulled from ``url``.

        ``manifest_etag``: the ETag of the manifest read (None: the store had none);
        ``snapshot``: its files, ``{relpath: {'sha256', 'key'}}``; ``files``: ``{relpath:
        sha256}`` of the working copy right after the pull.
        """
        data = json.dumps(dict(version=_STATE_VERSION, store=url, manifest_etag=manifest_etag, snapshot=snapshot,
                               files=files), sort_keys=True, indent=1).encode('utf-8')
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


def stored_object(path):
    """Where an S3 store holds the file at ``path`` of a working copy: ``(url, pushed)``, or None.

    The working copy is the nearest directory above ``path`` with a pull record. ``url`` is
    ``s3://bucket/prefix/<object>`` as the manifest (``.autotls-manifest.json``) names it when
    a push already uploaded the file with its current content (``pushed`` True); else
    ``s3://bucket/prefix/<relative path>``, the name under which the next push lists it.
    None when no S3 store's working copy holds ``path``.
    """
    path = os.path.abspath(os.path.expanduser(path))
    directory = os.path.dirname(path)
    while True:
        try:
            with open(os.path.join(directory, STATE_FILE), 'rb') as handle:
                state = json.loads(handle.read().decode('utf-8'))
            break
        except (OSError, ValueError):
            state = None
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    url = state.get('store') if isinstance(state, dict) else None
    if not isinstance(url, str) or not url.startswith('s3://'):
        return None
    relpath = os.path.relpath(path, directory).replace(os.sep, '/')
    entry = (state.get('snapshot') or {}).get(relpath)
    try:
        with open(path, 'rb') as handle:
            current = sha256_hex(handle.read())
    except OSError:
        current = None
    if isinstance(entry, dict) and isinstance(entry.get('key'), str) and entry.get('sha256') == current:
        return url + entry['key'], True
    return url + relpath, False


def s3_client(options, max_attempts=10, connect_timeout=10, read_timeout=60, signature_version=None):
    """An S3 client for a module's ``params`` (credentials and endpoint as for Route53).

    ``signature_version='s3v4'`` for presigned links: every region accepts SigV4.
    """
    session = aws_session(options, max_attempts=max_attempts, connect_timeout=connect_timeout,
                          read_timeout=read_timeout)
    config = Config(retries={'mode': 'standard', 'max_attempts': int(max_attempts)},
                    connect_timeout=connect_timeout, read_timeout=read_timeout,
                    user_agent_extra='autotls.acme', **({'signature_version': signature_version}
                                                        if signature_version else {}))
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
        self.manifest = None            # the manifest the last pull read or the last push wrote
        self.cleanup_warnings = []      # superseded objects the last push could not delete
        self.removed = []               # files the last push took out of the manifest

    def url(self, relpath=''):
        return 's3://%s/%s%s' % (self.bucket, self.prefix, relpath)

    def key(self, relpath):
        return self.prefix + relpath

    def _failure(self, verb, relpath, exc):
        """A StoreError "Failed to <verb> s3://bucket/key: <AWS error>. <what to change>"."""
        err = aws_failure('%s %s' % (verb, self.url(relpath)), exc, bucket=self.bucket, key=self.key(relpath))
        hint = _hint(aws_error_code(exc), self)
        return StoreError(err.msg + ('. ' + hint if hint else ''), **err.details)

    def list(self, under=''):
        """``{relpath: {'size': int, 'etag': str}}`` of the objects under the prefix (and ``under`` in it)."""
        found = {}
        try:
            paginator = self.client.get_paginator('list_objects_v2')
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
                for item in page.get('Contents', []):
                    found[item['Key'][len(self.prefix):]] = dict(
                        size=item.get('Size', 0), etag=(item.get('ETag') or '').strip('"'),
                        modified=item.get('LastModified'))
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

    # -- the manifest -----------------------------------------------------
    def read_manifest(self):
        """``(manifest, etag)`` of the store's manifest, or ``(None, None)`` when it has none."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(MANIFEST_NAME))
            data = response['Body'].read()
        except ClientError as exc:
            if aws_error_code(exc) in _NOT_FOUND:
                return None, None
            raise self._failure('read the manifest', MANIFEST_NAME, exc)
        except BotoCoreError as exc:
            raise self._failure('read the manifest', MANIFEST_NAME, exc)
        try:
            return manifest_mod.parse(data, self.url(MANIFEST_NAME)), (response.get('ETag') or '').strip('"')
        except manifest_mod.ManifestError as exc:
            raise StoreError(exc.msg)

    def write_manifest(self, manifest, expected_etag):
        """Replace the manifest only if it still has ``expected_etag`` (None: only if there is none).

        Returns the new ETag, or None when another writer changed it first.
        """
        kwargs = dict(Bucket=self.bucket, Key=self.key(MANIFEST_NAME), Body=manifest_mod.encode(manifest),
                      ContentType='application/json', ServerSideEncryption=self.sse)
        if self.kms_key_id:
            kwargs['SSEKMSKeyId'] = self.kms_key_id
        if expected_etag:
            kwargs['IfMatch'] = '"%s"' % expected_etag
        else:
            kwargs['IfNoneMatch'] = '*'
        try:
            return (self.client.put_object(**kwargs).get('ETag') or '').strip('"')
        except ClientError as exc:
            if aws_error_code(exc) in _CONDITION_FAILED + _NOT_FOUND:
                return None
            raise self._failure('write the manifest', MANIFEST_NAME, exc)
        except BotoCoreError as exc:
            raise self._failure('write the manifest', MANIFEST_NAME, exc)

    def delete(self, name):
        """Delete one object (a superseded version); a missing object is fine."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))
        except (BotoCoreError, ClientError) as exc:
            raise self._failure('delete', name, exc)

    # -- sync -------------------------------------------------------------
    def push(self, copy, check_mode=False, holder=None, before_write=None, now=None, before_manifest=None):
        """Upload what this run wrote, then a new manifest that lists it; returns the uploaded paths.

        Needs the record of a successful pull of this store into ``copy`` (see :meth:`pull`);
        without it nothing is uploaded, so a run whose pull failed can never put older files
        over newer ones. A file goes up when it changed since the pull (what this run wrote)
        and differs from the store; files that were only in the working copy at the pull
        stay there. A certificate goes up as a whole: its other files are listed from the
        working copy too, and its key must belong to it.

        Each file goes to a new object (``<relpath>.<time>-<random>``), never over one a
        reader may be downloading; the manifest, written last and only if it is still the
        one read (``If-Match``), makes the new files current in one step. When the manifest
        changed since the pull, the other run's manifest is the base: this run's files are
        added to it unless that run changed one of this run's certificates, which is
        refused as a whole before anything is uploaded, naming the objects. An upload or a
        manifest write that fails leaves the previous manifest, hence the previous
        complete snapshot, in place. Objects the manifest no longer lists are deleted
        :data:`RETIRE_GRACE` seconds later, by a later push.

        ``before_write()`` runs after the checks, before the first upload (the lease's
        renewal: it raises when the lease was lost); ``before_manifest()`` before each
        write of the manifest (the lease is still this run's, unchanged). When the push
        fails after uploading, its new objects are deleted again (best effort, and only
        those no manifest lists); what a crashed push left is deleted by a later push once
        it is :data:`RETIRE_GRACE` seconds old. In check mode, returns what would be
        uploaded (without a pull record: every file whose object is missing or differs).
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
        snapshot, recorded = state['snapshot'], state['files']
        local = copy.checksums()
        if state.get('manifest_etag') is None and not snapshot:
            changed = list(local)  # an empty store is seeded with the whole working copy
        else:
            changed = [rel for rel in local
                       if recorded.get(rel) != local[rel] and (snapshot.get(rel) or {}).get('sha256') != local[rel]]
        # Pulled, then removed by this run (a certificate retired or revoked and set aside).
        removed = [rel for rel in _sync_order(snapshot) if rel in recorded and rel not in local]
        self.removed = []
        if not changed and not removed:
            return []
        ours = _with_whole_certificates(changed, local)
        current, etag = self.read_manifest()
        base = current['files'] if current is not None else (snapshot if state.get('manifest_etag') is None else {})
        self._refuse_conflicts(ours + removed, snapshot, base)
        uploads = [rel for rel in ours if (base.get(rel) or {}).get('sha256') != local[rel]]
        data = {rel: copy.read(rel) for rel in ours}
        missing = [rel for rel in ours if data[rel] is None or sha256_hex(data[rel]) != local[rel]]
        if missing:
            raise StoreError('Not pushing to %s: %s changed while this push read the working copy %s; run the job '
                             'again' % (url, ', '.join(missing), copy.path))
        if check_mode:
            self.removed = removed
            return uploads
        if before_write is not None:
            before_write()
        keys = {relpath: version_name(relpath, now) for relpath in uploads}
        pending = self._record_pending(keys.values(), now) if uploads else None
        pushed = []
        try:
            for relpath in uploads:
                self.put(keys[relpath], data[relpath], must_be_new=True)
                pushed.append(relpath)
            deleted, self.cleanup_warnings = self._clean((current or {}).get('retired') or {}, now)
            self.cleanup_warnings += self._sweep(current, set(keys.values()) | {pending}, now)
            for _attempt in range(5):
                manifest = self._next_manifest(current, base, ours, local, keys, data, holder, now, deleted, removed)
                if before_manifest is not None:
                    before_manifest()
                new_etag = self.write_manifest(manifest, etag)
                if new_etag is not None:
                    break
                current, etag = self.read_manifest()   # another writer went first: start from its manifest
                base = current['files'] if current is not None else {}
                self._refuse_conflicts(ours + removed, snapshot, base)
            else:
                raise StoreConflict('Refusing to push to %s: its manifest kept changing while this push wrote it. '
                                    'The previous snapshot stays current. Run the job again' % url,
                                    conflicts=[self.url(MANIFEST_NAME)])
        except AutoTLSError as exc:
            if pushed:
                exc.msg += (' (uploaded as new objects in this push but not made current - the store still holds '
                            'the previous complete snapshot: %s%s)' % (', '.join(pushed), self._discard(
                                [keys[rel] for rel in pushed], pending)))
                exc.args = (exc.msg,)
            exc.details.setdefault('pushed', [])
            raise
        self.manifest = manifest
        self.removed = removed
        if pending is not None:
            try:
                self.delete(pending)
            except StoreError:
                pass  # a later push finds every object it names current, and deletes only the record
        kept = {rel: sha for rel, sha in recorded.items() if rel not in removed}
        copy.write_state(url, new_etag, manifest['files'], dict(kept, **{rel: local[rel] for rel in ours}))
        return pushed

    def _refuse_conflicts(self, ours, snapshot, base):
        """Raise when another run changed, since this run's pull, a file this push would make current."""
        conflicts = [rel for rel in ours if (base.get(rel) or {}).get('sha256') != (snapshot.get(rel) or {}).get('sha256')]
        if conflicts:
            raise StoreConflict(
                'Refusing to push to %s: %s changed in the bucket after this run pulled %s; another run or a '
                'person wrote %s. Nothing was uploaded. Run the job again: its pull brings the newer files first'
                % (self.url(), ', '.join(self.url(rel) for rel in conflicts), 'them' if len(conflicts) > 1 else 'it',
                   'them' if len(conflicts) > 1 else 'it'),
                conflicts=[self.url(rel) for rel in conflicts], pushed=[])

    def _next_manifest(self, current, base, ours, local, keys, data, holder, now, deleted, removed):
        """The manifest that adds this run's files to ``base`` and drops those it removed, listing the objects
        it supersedes as retired."""
        files = dict(base)
        for relpath in ours:
            files[relpath] = dict(sha256=local[relpath], key=keys.get(relpath) or (base.get(relpath) or {})['key'])
        for relpath in removed:
            files.pop(relpath, None)
        retired = dict((current or {}).get('retired') or {})
        listed = {entry['key'] for entry in files.values()}
        stamp = _utc(now).strftime('%Y-%m-%dT%H:%M:%SZ')
        for relpath in list(ours) + list(removed):
            old = (base.get(relpath) or {}).get('key')
            if old and old not in listed:
                retired.setdefault(old, stamp)
        retired = {key: when for key, when in retired.items() if key not in listed and key not in deleted}

        def read(relpath):
            return data[relpath] if relpath in data else None

        try:
            manifest = manifest_mod.build({rel: entry['sha256'] for rel, entry in files.items()}, read,
                                          holder or '', previous=current, now=_utc(now),
                                          keys={rel: entry['key'] for rel, entry in files.items()}, retired=retired)
        except manifest_mod.ManifestError as exc:
            raise StoreError('Not pushing to %s: %s' % (self.url(), exc.msg), **exc.details)
        return manifest

    def _clean(self, retired, now):
        """Delete the objects retired more than RETIRE_GRACE ago; returns ``(deleted, warnings)``.

        Never fails the push: an object that cannot be deleted (most likely no
        s3:DeleteObject) stays listed as retired, and a later push tries again.
        """
        limit = _utc(now) - datetime.timedelta(seconds=RETIRE_GRACE)
        deleted, warnings = set(), []
        for key, when in sorted(retired.items()):
            stamp = _parse_time(when)
            if stamp is None or stamp > limit:
                continue
            try:
                self.delete(key)
            except StoreError as exc:
                warnings.append('Superseded object %s kept: %s' % (self.url(key), exc.msg))
                break
            deleted.add(key)
        return deleted, warnings

    def _discard(self, names, record=None):
        """Delete the objects ``names`` this push uploaded and no manifest lists; returns a note for the message.

        The manifest is read again first: a write that failed on the network may have
        reached the bucket, and then its objects are current and stay. The push's ``record``
        of them (:data:`PENDING_DIR`) goes too once none is left to delete.
        """
        try:
            current, _etag = self.read_manifest()
        except StoreError:
            return '; kept, as the manifest could not be read again: a later push deletes them'
        listed = _referenced(current)
        kept = []
        for name in names:
            if name in listed:
                continue
            try:
                self.delete(name)
            except StoreError:
                kept.append(self.url(name))
        if kept:
            return '; could not delete %s: a later push deletes them' % ', '.join(kept)
        if record is not None:
            try:
                self.delete(record)
            except StoreError:
                pass  # a later push deletes it
        return '; they were deleted again'

    def _record_pending(self, names, now):
        """Write the record of the objects this push is about to upload (:data:`PENDING_DIR`); returns its name."""
        record = '%s%s-%s.json' % (PENDING_DIR, _utc(now).strftime('%Y%m%dT%H%M%SZ'), uuid.uuid4().hex[:8])
        self.put(record, json.dumps({'keys': sorted(names)}).encode(), must_be_new=True)
        return record

    def _sweep(self, current, fresh, now):
        """Delete the objects an earlier push uploaded but never made current (it crashed or lost its way).

        Only the objects a push's own record (:data:`PENDING_DIR`) names, from records older
        than :data:`RETIRE_GRACE`, that ``current`` neither lists nor retires and that are not
        this push's own (``fresh``); then the record. Without a manifest nothing is swept
        (nothing tells a current file from an unfinished one). Never fails the push; returns
        warnings.
        """
        limit = _utc(now) - datetime.timedelta(seconds=RETIRE_GRACE)
        try:
            records = self.list(PENDING_DIR)
        except StoreError as exc:
            return ['Objects of unfinished pushes kept: %s' % exc.msg]
        records = sorted(name for name, info in records.items()
                         if name not in fresh and info.get('modified') is not None and info['modified'] <= limit)
        if not records:
            return []
        if current is None:
            return ['Objects of unfinished pushes kept (%s): %s has no manifest that tells them from current '
                    'files' % (', '.join(self.url(name) for name in records), self.url())]
        listed = _referenced(current)
        for record in records:
            try:
                data, _etag = self.get(record)
                names = json.loads(data.decode('utf-8'))['keys']
            except StoreError as exc:
                return ['Objects of an unfinished push kept: %s' % exc.msg]
            except (ValueError, KeyError, TypeError, AttributeError):
                return ['Objects of an unfinished push kept: %s is not a record of pending objects' % self.url(record)]
            for name in names:
                if not isinstance(name, str) or name in listed or name in fresh or not _VERSION_SUFFIX.search(name):
                    continue
                try:
                    self.delete(name)
                except StoreError as exc:
                    return ['Object of an unfinished push %s kept: %s' % (self.url(name), exc.msg)]
            try:
                self.delete(record)
            except StoreError as exc:
                return ['Record of an unfinished push %s kept: %s' % (self.url(record), exc.msg)]
        return []

    def _differing(self, copy):
        """Files whose content is not the store's (check mode without a pull record)."""
        current, _etag = self.read_manifest()
        listed = (current or {}).get('files') or {}
        local = copy.checksums()
        return [rel for rel in _sync_order(local) if (listed.get(rel) or {}).get('sha256') != local[rel]]

    def pull(self, copy, check_mode=False):
        """Make ``copy`` hold the store's current snapshot; record what was seen for the next push.

        Only the files the manifest lists are read, each from the object it names, and each
        is checked against the manifest's SHA-256. Everything is downloaded before anything
        is written, so a pull that fails (network, permissions) leaves the working copy as it
        was and records no pull: a later push then refuses. When an object the manifest
        listed is gone (a newer manifest retired it meanwhile), the pull starts again from
        the newer manifest. A store without a manifest (empty, or written by hand) is read
        by listing its objects. Files only in the working copy stay. Returns ``(pulled,
        skipped)``: relative paths written (content or mode), and objects not pulled with
        the reason (outside the working copy, a dot-file, too big).
        """
        if not check_mode:
            copy.forget_state()
        for _attempt in range(3):
            current, etag = self.read_manifest()
            self.manifest = current
            if current is None:
                snapshot, downloads, modes, skipped = self._plan_listing(copy)
            else:
                try:
                    snapshot, downloads, modes, skipped = self._plan_manifest(copy, current)
                except _Superseded as gone:
                    if self.read_manifest()[1] == etag:
                        raise StoreError(
                            'Failed to pull %s: the object %s that its manifest lists for %s is missing, and the '
                            'manifest did not change. Nothing was written. Someone deleted it by hand: restore it '
                            '(bucket versioning), or issue the certificate again with autotls_force'
                            % (self.url(), self.url(gone.key), gone.relpath))
                    continue  # a newer manifest retired it meanwhile: start again from that one
            break
        else:
            raise StoreError('Failed to pull %s: its manifest kept changing while this pull read it; run the job '
                             'again' % self.url())
        pulled = _sync_order(list(downloads) + modes)
        if check_mode:
            return pulled, skipped
        for relpath in pulled:
            if relpath in downloads:
                copy.write(relpath, downloads[relpath])
            else:
                copy.set_mode(relpath)
        copy.write_state(self.url(), etag, snapshot, copy.checksums())
        return pulled, skipped

    def _plan_manifest(self, copy, manifest):
        snapshot, downloads, modes, skipped = {}, {}, [], []
        for relpath in _sync_order(manifest['files']):
            entry = manifest['files'][relpath]
            if safe_relpath(relpath) is None or not isinstance(entry.get('key'), str) \
                    or safe_relpath(entry['key']) is None:
                skipped.append('%s: not a safe relative path' % self.url(relpath))
                continue
            snapshot[relpath] = dict(sha256=entry['sha256'], key=entry['key'])
            local = copy.read(relpath)
            if local is not None and sha256_hex(local) == entry['sha256']:
                if copy.mode(relpath) != file_mode(relpath):
                    modes.append(relpath)
                continue
            try:
                data, _etag = self.get(entry['key'])
            except StoreError as exc:
                if exc.details.get('aws_error_code') in _NOT_FOUND:
                    raise _Superseded(relpath, entry['key'])
                raise
            if sha256_hex(data) != entry['sha256']:
                raise StoreError('Failed to pull %s: the object %s does not hold the content the manifest %s lists '
                                 'for it (SHA-256 differs). Nothing was written; someone changed the object by '
                                 'hand: run an issuing job to write the certificate again'
                                 % (self.url(), self.url(entry['key']), self.url(MANIFEST_NAME)))
            downloads[relpath] = data
        return snapshot, downloads, modes, skipped

    def _plan_listing(self, copy):
        """A store without a manifest: every object under the prefix (not our own records, not versions)."""
        snapshot, downloads, modes, skipped = {}, {}, [], []
        remote = self.list()
        for relpath in _sync_order(remote):
            if relpath == '' or relpath.endswith('/') or relpath in (MANIFEST_NAME, LEASE_NAME) \
                    or relpath.startswith(PENDING_DIR) or _VERSION_SUFFIX.search(relpath):
                continue  # "folder" placeholders made by consoles; our records; files of an unfinished push
            if safe_relpath(relpath) is None:
                skipped.append('%s: not a safe relative path' % self.url(relpath))
                continue
            if remote[relpath]['size'] > MAX_OBJECT_SIZE:
                skipped.append('%s: larger than %d bytes' % (self.url(relpath), MAX_OBJECT_SIZE))
                continue
            local = copy.read(relpath)
            if local is not None and len(local) == remote[relpath]['size'] \
                    and _md5_hex(local) == remote[relpath]['etag']:
                data = local  # the ETag of an unencrypted or SSE-S3 single-part upload is its MD5
            else:
                data, _etag = self.get(relpath)
            snapshot[relpath] = dict(sha256=sha256_hex(data), key=relpath)
            if local != data:
                downloads[relpath] = data
            elif copy.mode(relpath) != file_mode(relpath):
                modes.append(relpath)
        return snapshot, downloads, modes, skipped


class _Superseded(Exception):
    """An object the manifest listed is gone: a newer manifest replaced it (or a person deleted it)."""

    def __init__(self, relpath, key):
        super().__init__(key)
        self.relpath = relpath
        self.key = key


def version_name(relpath, now=None):
    """A new object name for a new content of ``relpath``: ``<relpath>.<UTC time>-<8 hex>``."""
    return '%s.%s-%s' % (relpath, _utc(now).strftime('%Y%m%dT%H%M%SZ'), uuid.uuid4().hex[:8])


def _with_whole_certificates(changed, local):
    """``changed`` plus the other files of each certificate directory it touches, in sync order."""
    dirs = set(manifest_mod.certificate_dirs(local))
    touched = {rel.rsplit('/', 1)[0] for rel in changed if '/' in rel} & dirs
    return _sync_order(set(changed) | {rel for rel in local if '/' in rel and rel.rsplit('/', 1)[0] in touched})


def _referenced(manifest):
    """The object names ``manifest`` lists or retires (the store's own records too): never deleted as orphans."""
    manifest = manifest or {}
    names = {entry.get('key') for entry in (manifest.get('files') or {}).values() if isinstance(entry, dict)}
    return names | set(manifest.get('retired') or {}) | {MANIFEST_NAME, LEASE_NAME}


def _utc(now=None):
    return now or datetime.datetime.now(datetime.timezone.utc)


def _parse_time(text):
    try:
        return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


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


def store_from_params(params, require_path=True):
    """``(kind, store_or_None, working_copy)`` for a module's params; validates the combination.

    ``require_path``: the S3 working copy is needed (not for the lease: then it may be None).
    """
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
    if not params.get('path') and require_path:
        raise ConfigurationError('path (the local working copy) is required with store.type s3')
    if not HAS_BOTO3:
        raise ConfigurationError('boto3 and botocore are required for store.type s3')
    store = S3Store(s3_client(params), options.get('bucket'), prefix=options.get('prefix'),
                    sse=options.get('sse') or 'AES256', kms_key_id=options.get('kms_key_id'))
    return kind, store, WorkingCopy(params['path']) if params.get('path') else None


def write_local_manifest(copy, holder, check_mode=False, now=None):
    """Write the manifest of a local store (``copy`` is the store); returns whether it changed.

    Lists every file with its SHA-256 and every certificate with its serial; a certificate
    whose key is not its own is refused (:class:`StoreError`), and the previous manifest
    stays. Unchanged content leaves the manifest as it is.
    """
    path = os.path.join(copy.path, MANIFEST_NAME)
    previous = None
    try:
        with open(path, 'rb') as handle:
            previous = manifest_mod.parse(handle.read(), path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StoreError('Failed to read %s: %s' % (path, exc.strerror or exc))
    except manifest_mod.ManifestError:
        previous = None  # unreadable: replaced by a good one
    files = copy.checksums()
    if not files and previous is None:
        return False, None  # an empty store: nothing to list yet
    try:
        manifest = manifest_mod.build(files, copy.read, holder, previous=previous, now=_utc(now))
    except manifest_mod.ManifestError as exc:
        raise StoreError('Not writing the manifest of %s: %s' % (copy.path, exc.msg), **exc.details)
    if previous is not None and previous['files'] == manifest['files'] \
            and previous['certificates'] == manifest['certificates']:
        return False, previous
    if not check_mode:
        try:
            atomic_write(path, manifest_mod.encode(manifest), KEY_MODE)
        except OSError as exc:
            raise StoreError('Failed to write %s: %s' % (path, exc.strerror or exc))
    return True, manifest


def read_local_manifest(copy):
    path = os.path.join(copy.path, MANIFEST_NAME)
    try:
        with open(path, 'rb') as handle:
            return manifest_mod.parse(handle.read(), path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError('Failed to read %s: %s' % (path, exc.strerror or exc))
    except manifest_mod.ManifestError as exc:
        raise StoreError(exc.msg)


def lease_for(kind, store, copy, params, check_mode=False):
    """The :class:`Lease` of the store, for a module's params (holder, duration)."""
    duration = params.get('lease_duration')
    duration = DEFAULT_DURATION if duration is None else duration
    wait = params.get('lease_wait')
    check_timing(duration, DEFAULT_WAIT if wait is None else wait)
    holder = params.get('lease_holder') or default_holder()
    if kind == 'local':
        backend = LocalLeaseBackend(copy.path, create=not check_mode)
    else:
        backend = S3LeaseBackend(store.client, store.bucket, store.prefix, sse=store.sse, kms_key_id=store.kms_key_id)
    return Lease(backend, holder, duration=duration)


def sync(params, state, check_mode=False):
    """Run one ``state`` of the store module; returns the module's result dict.

    ``pulled``/``pushed`` sync the working copy; ``acquired``/``released`` take and give up
    the store's lease (see :mod:`.lease`).
    """
    kind, store, copy = store_from_params(params, require_path=state in ('pulled', 'pushed'))
    result = dict(changed=False, pulled=[], pushed=[], skipped=[], working_copy=copy.path if copy else None,
                  type=kind)
    if store is not None:
        result.update(bucket=store.bucket, prefix=store.prefix)
    if state in ('acquired', 'released'):
        return _lease_step(kind, store, copy, params, state, result, check_mode)
    lease_id = params.get('lease_id')
    lease = lease_for(kind, store, copy, params, check_mode) if (state == 'pushed' and lease_id) else None

    holder = params.get('lease_holder') or default_holder()
    if lease:
        # Nothing is written unless this run still holds the lease; the manifest names its holder.
        result['lease'] = lease_mod.public(lease.renew(lease_id, check_mode), lease.backend.where)
        holder = params.get('lease_holder') or result['lease']['holder']

    dir_changed = copy.ensure(check_mode) if (store is None or state == 'pulled') else False
    manifest = None
    if store is not None and state == 'pulled':
        result['pulled'], result['skipped'] = store.pull(copy, check_mode)
        manifest = store.manifest
    elif store is not None and state == 'pushed':
        if not os.path.isdir(copy.path):
            raise ConfigurationError('Nothing to push: the working copy %s does not exist' % copy.path)
        # Just before the manifest makes this run's files current, the lease must still be the one it renewed.
        result['pushed'] = store.push(copy, check_mode, holder=holder,
                                      before_manifest=(lambda: lease.verify(lease_id)) if lease else None)
        manifest = store.manifest
        result['removed'] = list(store.removed)
        result['changed'] = bool(store.removed)
        result['warnings'] = list(store.cleanup_warnings)
    elif state == 'pulled':
        manifest = read_local_manifest(copy) if os.path.isdir(copy.path) else None
    else:
        if lease and not check_mode:
            lease.verify(lease_id)
        written, manifest = write_local_manifest(copy, holder, check_mode)
        dir_changed = dir_changed or written
    result['manifest'] = manifest_mod.summary(manifest)
    result['changed'] = bool(result['changed'] or dir_changed or result['pulled'] or result['pushed'])
    return result


def _lease_step(kind, store, copy, params, state, result, check_mode):
    lease = lease_for(kind, store, copy, params, check_mode)
    lease_id = params.get('lease_id')
    where = lease.backend.where
    if state == 'released':
        released, note = lease.release(lease_id, check_mode)
        result.update(changed=released, released=released)
        if note:
            result['warnings'] = ['Nothing released: %s' % note]
        return result
    if lease_id:
        result['lease'] = lease_mod.public(lease.renew(lease_id, check_mode), where)
        result.update(changed=True, waited=0, took_over={})
        return result
    wait = params.get('lease_wait')
    record, info = lease.acquire(DEFAULT_WAIT if wait is None else wait, check_mode)
    result['lease'] = lease_mod.public(record, where, own=not info.get('held'))
    taken = info.get('took_over')
    result.update(changed=not info.get('held'), waited=info['waited'],
                  took_over=dict(holder=taken['holder'], expires=taken['expires']) if taken else {})
    if info.get('held'):
        result['warnings'] = ['The store is leased to %s until %s: a real run would wait for it' % (
            record['holder'], record['expires'])]
    return result
