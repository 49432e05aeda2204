# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The store's lease: one issuing run at a time per store.

A lease is a small JSON record beside the store's files (:data:`LEASE_NAME`): who holds it
(``holder``), a random ``id`` only the holder knows, and when it ends (``expires``). A run
acquires it before it pulls, renews it while it works and releases it at the end, also
when it failed. A second issuer finds the record, waits a bounded time for it to go, then
stops with a message that names the holder and when its lease ends. A holder that crashed
never releases: its lease simply ends, and the next issuer takes it over.

Every change of the record is made so that two runs can never both believe they hold it:

* S3: the record is created with a conditional write (``If-None-Match: *``: only if no
  lease object exists); an expired one is overwritten, renewed or deleted only if its ETag
  is still the one just read (``If-Match``). Of two runs that take over the same expired
  lease at once, S3 accepts one write; the other gets 412 and reads the new, live lease.
* Local store: Ansible runs each task in its own short-lived process, so no process can
  hold a file lock for the whole run. An ``flock`` on :data:`LOCK_NAME` instead guards each
  read-and-write of the record, which makes it as atomic as the S3 conditional writes;
  the record itself, with its expiry, is the lease.

Expiry is wall-clock time (UTC, as written by the holder): the controllers that share a
store need clocks that agree to well within a lease's duration (NTP).
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import json
import os
import socket
import time
import uuid

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import (
    BotoCoreError,
    ClientError,
    aws_error_code,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX; the local lease says so when used
    fcntl = None

LEASE_NAME = '.autotls-lease.json'
LOCK_NAME = '.autotls-lease.lock'
DEFAULT_DURATION = 3600
DEFAULT_WAIT = 300
MIN_DURATION = 60
MAX_DURATION = 7 * 86400
MAX_WAIT = 86400
POLL_INTERVAL = 5.0
_RECORD_VERSION = 1
_CONDITION_FAILED = ('PreconditionFailed', '412', 'ConditionalRequestConflict', '409')
_NOT_FOUND = ('404', 'NoSuchKey', 'NotFound')


class LeaseError(AutoTLSError):
    """The lease could not be read or written."""


class LeaseHeld(LeaseError):
    """Another run holds the lease and did not release it within the wait."""


class LeaseLost(LeaseError):
    """This run's lease ended and another run took it, or it was removed."""


class _Conflict(Exception):
    """A conditional write found another record than the one expected."""


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _ansible_pid():
    """The pid of the outermost ansible-playbook (or ansible-runner) above this process, else the parent's."""
    pid, found = os.getppid(), None
    for _hop in range(12):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                cmdline = handle.read()
            with open('/proc/%d/stat' % pid, 'rb') as handle:
                parent = int(handle.read().rsplit(b')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if b'ansible-playbook' in cmdline or b'ansible-runner' in cmdline:
            found = pid
        if parent <= 1:
            break
        pid = parent
    return found or os.getppid()


def default_holder(environ=None):
    """Who is asking: the AWX job (``JOB_ID``, ``AWX_HOST``, which AWX sets) or ``user@host:pid``."""
    environ = os.environ if environ is None else environ
    if environ.get('JOB_ID'):
        holder = 'AWX job %s' % environ['JOB_ID']
        if environ.get('AWX_HOST'):
            holder += ' on %s' % environ['AWX_HOST']
        return holder
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return '%s@%s:%d' % (user, socket.gethostname(), _ansible_pid())


def check_timing(duration, wait):
    """Refuse a lease duration or wait that makes no sense, naming the value."""
    if not isinstance(duration, int) or isinstance(duration, bool) or not MIN_DURATION <= duration <= MAX_DURATION:
        raise ConfigurationError(
            'lease_duration must be a number of seconds from %d to %d, not %r: it is how long the lease lasts '
            'without a renewal, so size it above the longest step of an issuing run'
            % (MIN_DURATION, MAX_DURATION, duration))
    if not isinstance(wait, int) or isinstance(wait, bool) or not 0 <= wait <= MAX_WAIT:
        raise ConfigurationError('lease_wait must be a number of seconds from 0 to %d, not %r' % (MAX_WAIT, wait))


def new_record(holder, duration, now, previous=None):
    """A lease record for ``holder`` from ``now`` for ``duration`` seconds (``previous``: renewed)."""
    record = dict(version=_RECORD_VERSION, holder=holder, duration=duration,
                  id=previous['id'] if previous else uuid.uuid4().hex,
                  acquired=previous['acquired'] if previous else iso(now),
                  renewed=iso(now), expires=iso(now + duration), expires_epoch=now + duration)
    return record


def parse_record(data):
    """The record in ``data`` (bytes), or None when it is not one (then it counts as expired)."""
    try:
        record = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get('id'), str) \
            or not isinstance(record.get('expires_epoch'), (int, float)) or isinstance(record['expires_epoch'], bool):
        return None
    record.setdefault('holder', 'an unnamed run')
    record.setdefault('expires', iso(record['expires_epoch']))
    return record


def encode_record(record):
    return json.dumps(record, sort_keys=True, indent=1).encode('utf-8')


def public(record, where, own=True):
    """What a module returns about a lease: the id only for this run's own (it renews and releases with it)."""
    result = dict(holder=record['holder'], acquired=record.get('acquired'), renewed=record.get('renewed'),
                  expires=record['expires'], duration=record.get('duration'), store=where)
    if own:
        result['id'] = record['id']
    return result


class LocalLeaseBackend:
    """The lease of a local store: ``<store>/.autotls-lease.json``, changed under an flock."""

    def __init__(self, directory, create=True):
        self.directory = directory
        self.path = os.path.join(directory, LEASE_NAME)
        self.where = directory
        self.create_files = create  # False in check mode: nothing is created

    def describe_removal(self):
        return 'remove %s' % self.path

    @contextlib.contextmanager
    def locked(self):
        if fcntl is None:
            raise LeaseError('The local store lease needs file locks (fcntl), which this system lacks')
        if not self.create_files and not os.path.exists(os.path.join(self.directory, LOCK_NAME)):
            yield  # check mode: read without a lock rather than create the lock file
            return
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            handle = os.open(os.path.join(self.directory, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LeaseError('Failed to open the lock file in %s: %s' % (self.directory, exc.strerror or exc))
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # also drops the lock

    def read(self):
        """``(record or None, token, exists)``; the token is unused locally (the flock guards)."""
        try:
            with open(self.path, 'rb') as handle:
                return parse_record(handle.read()), None, True
        except FileNotFoundError:
            return None, None, False
        except OSError as exc:
            raise LeaseError('Failed to read %s: %s' % (self.path, exc.strerror or exc))

    def create(self, record):
        return self.replace(record, None)

    def replace(self, record, token):  # pylint: disable=unused-argument
        try:
            atomic_write(self.path, encode_record(record), 0o600)
        except OSError as exc:
            raise LeaseError('Failed to write %s: %s' % (self.path, exc.strerror or exc))
        return None

    def delete(self, token):  # pylint: disable=unused-argument
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LeaseError('Failed to remove %s: %s' % (self.path, exc.strerror or exc))


class S3LeaseBackend:
    """The lease of an S3 store: the object ``<prefix>.autotls-lease.json``, changed only conditionally."""

    def __init__(self, client, bucket, prefix, sse='AES256', kms_key_id=None):
        self.client = client
        self.bucket = bucket
        self.key = prefix + LEASE_NAME
        self.where = 's3://%s/%s' % (bucket, self.key)
        self.sse = sse
        self.kms_key_id = kms_key_id

    def describe_removal(self):
        return 'delete the object %s' % self.where

    @staticmethod
    @contextlib.contextmanager
    def locked():
        yield  # S3's conditional writes make each change atomic

    def _failure(self, verb, exc):
        return LeaseError('Failed to %s the lease %s: %s' % (verb, self.where, aws_error_code(exc) or exc),
                          aws_error_code=aws_error_code(exc))

    def read(self):
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
            data = response['Body'].read()
        except ClientError as exc:
            if aws_error_code(exc) in _NOT_FOUND:
                return None, None, False
            raise self._failure('read', exc)
        except BotoCoreError as exc:
            raise self._failure('read', exc)
        return parse_record(data), response.get('ETag'), True

    def _put(self, record, **condition):
        kwargs = dict(Bucket=self.bucket, Key=self.key, Body=encode_record(record),
                      ContentType='application/json', ServerSideEncryption=self.sse, **condition)
        if self.kms_key_id:
            kwargs['SSEKMSKeyId'] = self.kms_key_id
        try:
            return self.client.put_object(**kwargs).get('ETag')
        except ClientError as exc:
            if aws_error_code(exc) in _CONDITION_FAILED + _NOT_FOUND:
                raise _Conflict()
            raise self._failure('write', exc)
        except BotoCoreError as exc:
            raise self._failure('write', exc)

    def create(self, record):
        return self._put(record, IfNoneMatch='*')

    def replace(self, record, token):
        return self._put(record, IfMatch=token)

    def delete(self, token):
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=token)
        except ClientError as exc:
            if aws_error_code(exc) in _CONDITION_FAILED + _NOT_FOUND:
                raise _Conflict()
            raise self._failure('remove', exc)
        except BotoCoreError as exc:
            raise self._failure('remove', exc)


def _held_message(backend, record, waited, now):
    return ('The store is leased to %s until %s (in %d s): only one issuing run at a time may write it. Waited '
            '%d s for it (lease_wait). Run again after that run ends; if it crashed, its lease ends by itself at '
            'that time, or %s to take over at once' % (
                record['holder'], record['expires'], max(0, int(record['expires_epoch'] - now)), waited,
                backend.describe_removal()))


class Lease:
    """Acquire, renew and release the lease of one store (``backend``)."""

    def __init__(self, backend, holder, duration=DEFAULT_DURATION, clock=time.time, sleep=time.sleep,
                 poll_interval=POLL_INTERVAL):
        self.backend = backend
        self.holder = holder
        self.duration = duration
        self.clock = clock
        self.sleep = sleep
        self.poll_interval = poll_interval
        self.token = None  # what the backend answered to this run's last write of the record (S3: its ETag)

    def acquire(self, wait=DEFAULT_WAIT, check_mode=False):
        """Take the lease, waiting up to ``wait`` seconds for a live one to end.

        Returns ``(record, info)``: ``info`` has ``waited`` (seconds) and ``took_over`` (the
        expired lease replaced, or None). Raises :class:`LeaseHeld` when it is still held at
        the end of the wait. In check mode nothing is written and nobody is waited for:
        the record returned is what would be written, or the live lease that holds it.
        """
        start = self.clock()
        deadline = start + wait
        for _attempt in range(100000):
            with self.backend.locked():
                current, token, exists = self.backend.read()
                now = self.clock()
                live = current is not None and current['expires_epoch'] > now
                if not live:
                    record = new_record(self.holder, self.duration, now)
                    info = dict(waited=int(now - start), took_over=current if exists else None)
                    if check_mode:
                        return record, info
                    try:
                        if exists:
                            self.token = self.backend.replace(record, token)
                        else:
                            self.token = self.backend.create(record)
                    except _Conflict:
                        continue  # another run was quicker: read what it wrote
                    return record, info
                if check_mode:
                    return current, dict(waited=0, took_over=None, held=True)
            if now >= deadline:
                raise LeaseHeld(_held_message(self.backend, current, int(now - start), now),
                                holder=current['holder'], expires=current['expires'], lease_store=self.backend.where)
            self.sleep(max(0.0, min(self.poll_interval, deadline - now, current['expires_epoch'] - now + 0.5)))
        raise LeaseError('Gave up taking the lease %s: it kept changing' % self.backend.where)  # pragma: no cover

    def renew(self, lease_id, check_mode=False):
        """Extend this run's lease (``lease_id``) by the duration from now; raises :class:`LeaseLost`."""
        for _attempt in range(10):
            with self.backend.locked():
                current, token, _exists = self.backend.read()
                now = self.clock()
                if current is None or current['id'] != lease_id:
                    raise LeaseLost(self._lost_message(current, now), lease_store=self.backend.where,
                                    holder=current['holder'] if current else None)
                record = new_record(current['holder'], self.duration, now, previous=current)
                if check_mode:
                    self.token = token
                    return record
                try:
                    self.token = self.backend.replace(record, token)
                except _Conflict:
                    continue
                return record
        raise LeaseError('Gave up renewing the lease %s: it kept changing' % self.backend.where)  # pragma: no cover

    def verify(self, lease_id):
        """Raise :class:`LeaseLost` unless this run (``lease_id``) still holds the lease, unchanged.

        After :meth:`renew` (or :meth:`acquire`) the record must still be the one this run
        wrote: on S3 its ETag is compared too, so a lease another run took over and wrote
        since, even with the same id, counts as lost. Writes nothing.
        """
        with self.backend.locked():
            current, token, _exists = self.backend.read()
        if current is None or current['id'] != lease_id:
            raise LeaseLost(self._lost_message(current, self.clock()), lease_store=self.backend.where,
                            holder=current['holder'] if current else None)
        if self.token is not None and token != self.token:
            raise LeaseLost('This run no longer holds the lease on %s as it renewed it: the record was rewritten '
                            'since (now held by %s until %s). Nothing was written; run the job again'
                            % (self.backend.where, current['holder'], current['expires']),
                            lease_store=self.backend.where, holder=current['holder'])
        return current

    def _lost_message(self, current, now):
        if current is None:
            return ('This run no longer holds the lease on %s: it was released or removed. Nothing was written; '
                    'run the job again' % self.backend.where)
        return ('This run no longer holds the lease on %s: it ended and %s took it (until %s). Nothing was written; '
                'run the job again, and size lease_duration above the longest step of an issuing run'
                % (self.backend.where, current['holder'], current['expires']))

    def release(self, lease_id, check_mode=False):
        """Give up this run's lease; returns ``(released, note)``.

        Releases nothing (``False`` and why) when ``lease_id`` is empty (the acquire failed)
        or the lease is no longer this run's: another run's lease is never removed.
        """
        if not lease_id:
            return False, 'no lease to release (none was acquired)'
        for _attempt in range(10):
            with self.backend.locked():
                current, token, _exists = self.backend.read()
                if current is None or current['id'] != lease_id:
                    return False, ('the lease on %s was no longer this run\'s%s' % (
                        self.backend.where, ' (now held by %s until %s)' % (current['holder'], current['expires'])
                        if current else ''))
                if check_mode:
                    return True, ''
                try:
                    self.backend.delete(token)
                except _Conflict:
                    continue
                return True, ''
        raise LeaseError('Gave up releasing the lease %s: it kept changing' % self.backend.where)  # pragma: no cover
