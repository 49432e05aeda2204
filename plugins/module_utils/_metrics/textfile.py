# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's certificate metrics, as a file for node_exporter's textfile collector.

:func:`certificate_families` turns what a host serves (one item per certificate and
endpoint: the facts of the served certificate and the store's serial) into metric
families; :func:`render_textfile` into the file's text. :func:`write_textfile` writes
it atomically (a dot-file in the same directory, renamed over the old one: the
collector reads ``*.prom`` only, so it never sees half a file) after checking the path
and the mode.

Standard library only: runs on the host, through the metrics_textfile module.

The file holds state, not a heartbeat: it has no timestamp of its own, so a run that
finds nothing new leaves it (and its mtime) alone and reports no change. The alerts
compare the certificates' own timestamps with ``time()``.
"""

from __future__ import annotations

import calendar
import os
import stat
import time

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.autotls.acme.plugins.module_utils._metrics.exposition import Family, render
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import parse_mode

DEFAULT_FILE_NAME = 'autotls.prom'
DEFAULT_MODE = '0644'
_SUFFIX = '.prom'

HEADER = ('# Written by autotls.acme: the certificates this host serves, as the controller saw them.\n'
          '# Do not edit: the next run replaces this file.\n')


class TextfileError(AutoTLSError):
    """The metrics file could not be written or removed; the message says what to change."""


def timestamp(value):
    """``2027-02-20T10:00:00Z`` -> POSIX seconds; None stays None; a number passes through."""
    if value is None or value == '':
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(calendar.timegm(time.strptime(str(value), '%Y-%m-%dT%H:%M:%SZ')))
    except ValueError:
        raise ConfigurationError('%r is not a time in the form 2027-02-20T10:00:00Z' % (value,))


def _port(value, certificate):
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError('certificates[%s].port must be a port number, got %r' % (certificate, value))
    if not 0 < port < 65536:
        raise ConfigurationError('certificates[%s].port must be from 1 to 65535, got %r' % (certificate, value))
    return port


def certificate_families(certificates):
    """The metric families for ``certificates``: dicts with ``certificate`` (the name),
    ``server_name``, ``port``, ``reachable`` and, when the host answered, ``serial``,
    ``issuer``, ``not_before``, ``not_after``, ``renew_at`` (the start of the renewal
    window) and ``store_serial`` (the serial of the store's certificate, when known)."""
    up = Family('autotls_certificate_endpoint_up',
                'Whether the host answered a TLS handshake for the certificate (1) or not (0).')
    not_before = Family('autotls_certificate_not_before_timestamp_seconds',
                        'Start of validity of the certificate the host serves, as a Unix timestamp.')
    not_after = Family('autotls_certificate_not_after_timestamp_seconds',
                       'End of validity (not after) of the certificate the host serves, as a Unix timestamp.')
    renew_at = Family('autotls_certificate_renewal_window_start_timestamp_seconds',
                      'When the renewal policy (autotls_renew_before) makes the served certificate due, '
                      'as a Unix timestamp.')
    matches = Family('autotls_certificate_served_matches_store',
                     'Whether the host serves the certificate the store holds (1) or another one (0).')
    info = Family('autotls_certificate_info',
                  'The served certificate: serial, issuer and the store\'s serial, as labels; always 1.')
    seen = set()
    for index, item in enumerate(certificates or []):
        if not isinstance(item, dict) or not item.get('certificate'):
            raise ConfigurationError('certificates[%d] must be a dict with a certificate name, got %r' % (index, item))
        name = str(item['certificate'])
        port = _port(item.get('port', 443), name)
        labels = dict(certificate=name, server_name=str(item.get('server_name') or ''), port=str(port))
        key = tuple(sorted(labels.items()))
        if key in seen:
            raise ConfigurationError('certificate %s is listed twice for %s:%d' % (name, labels['server_name'], port))
        seen.add(key)
        reachable = bool(item.get('reachable')) and bool(item.get('serial'))
        up.add(reachable, **labels)
        if not reachable:
            continue
        not_before.add(timestamp(item.get('not_before')), **labels)
        not_after.add(timestamp(item.get('not_after')), **labels)
        renew_at.add(timestamp(item.get('renew_at')), **labels)
        store_serial = str(item.get('store_serial') or '').lower()
        serial = str(item['serial']).lower()
        if store_serial:
            matches.add(serial == store_serial, **labels)
        info.add(1, serial=serial, issuer=str(item.get('issuer') or ''), store_serial=store_serial, **labels)
    return [up, not_before, not_after, renew_at, matches, info]


def render_textfile(certificates):
    return HEADER + render(certificate_families(certificates))


def check_name(path):
    """``path`` if it is an absolute path of a ``*.prom`` file, else a ConfigurationError."""
    if not path or not isinstance(path, str):
        raise ConfigurationError('path must be the absolute path of a .prom file, got %r' % (path,))
    if not os.path.isabs(path) or '\0' in path or '\n' in path:
        raise ConfigurationError('path %r must be absolute, e.g. /var/lib/prometheus/node-exporter/autotls.prom' % path)
    base = os.path.basename(path)
    if not base.endswith(_SUFFIX) or base.startswith('.') or base == _SUFFIX:
        raise ConfigurationError('path %r must name a file ending in .prom (node_exporter reads only those) whose '
                                 'name does not start with a dot' % path)
    if any(part in ('.', '..') for part in path.split('/')):
        raise ConfigurationError('path %r must not contain . or .. components' % path)
    return path


def check_path(path):
    """The absolute path of the textfile, checked: ``*.prom`` in a directory that exists."""
    path = check_name(path)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise TextfileError('The directory %s does not exist: set autotls_metrics.textfile_dir to the directory '
                            'node_exporter reads (--collector.textfile.directory), which the node_exporter '
                            'package creates' % directory)
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise TextfileError('Cannot look at %s: %s' % (path, exc.strerror or exc))
    if not stat.S_ISREG(current.st_mode):
        raise TextfileError('%s exists and is not a regular file (a link or a directory); remove it or choose '
                            'another autotls_metrics.textfile_name' % path)
    return path


def check_file_mode(mode):
    """The mode as a number; nobody but the owner may write the file (it would forge metrics)."""
    value = parse_mode(mode, 'autotls_metrics.mode')
    if value & 0o022:
        raise ConfigurationError('autotls_metrics.mode %r lets other users write the metrics file: use "0644" '
                                 '(or "0640" with a group node_exporter is in)' % (mode,))
    return value


def write_textfile(path, text, mode=DEFAULT_MODE, check_mode=False):
    """Write ``text`` to ``path`` atomically at ``mode``; returns whether anything changed."""
    path = check_path(path)
    value = check_file_mode(mode)
    try:
        with open(path, 'rb') as handle:
            same = handle.read() == text.encode('utf-8')
        same = same and stat.S_IMODE(os.stat(path).st_mode) == value
    except FileNotFoundError:
        same = False
    except OSError as exc:
        raise TextfileError('Cannot read %s: %s' % (path, exc.strerror or exc))
    if same:
        return False
    if check_mode:
        return True
    try:
        atomic_write(path, text, value)
    except OSError as exc:
        raise TextfileError('Failed to write %s: %s' % (path, exc.strerror or exc))
    return True


def remove_textfile(path, check_mode=False):
    """Remove the metrics file (the host serves nothing any more); returns whether it was there."""
    path = check_name(path)
    if not os.path.lexists(path):
        return False
    check_path(path)
    if not check_mode:
        try:
            os.unlink(path)
        except OSError as exc:
            raise TextfileError('Failed to remove %s: %s' % (path, exc.strerror or exc))
    return True
