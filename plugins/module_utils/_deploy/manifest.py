# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the collection wrote on a host, and taking a retired certificate off it.

Runs on the host (through the host_manifest module), standard library only.
``<dest_dir>/.autotls-manifest.json`` (root, 0600) lists the certificates cert_deploy
installed there. Retirement removes only what it lists: the certificate's directory
``<dest_dir>/<name>/`` and its server block ``<conf_dir>/<prefix><name>.conf`` (the
prefix is the collection's own; nginx_tls writes and prunes those files). The server
block goes and the certificate's directory is moved aside, the server's check runs, and
only when it passes are they removed; a failing check (a configuration that still reads
the files) puts both back and removes nothing.
"""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.fileset import (
    OLD_TOKEN,
    TMP_PREFIX,
    Entry,
    read_entry,
    recover,
    remove_tree,
    write_entry,
)
from ansible_collections.autotls.acme.plugins.module_utils._model.names import RULE, is_valid_name

MANIFEST = '.autotls-manifest.json'
MANIFEST_MODE = 0o600
VERSION = 1


def _check_names(names):
    for name in names:
        if not is_valid_name(name):
            raise ConfigurationError('%r is not a certificate name (%s).' % (name, RULE))
    return list(names)


def read_manifest(host):
    """{name: {'recorded': when}} from the host's manifest; {} when there is none yet."""
    if host.fd is None:
        return {}
    entry = read_entry(host.fd, MANIFEST, host.where(MANIFEST))
    if entry is None:
        return {}
    try:
        data = json.loads(entry.data.decode('utf-8'))
        certificates = data['certificates']
        if not isinstance(certificates, dict):
            raise TypeError('certificates is not a mapping')
    except (ValueError, KeyError, TypeError) as exc:
        raise AutoTLSError('%s is not a manifest this collection wrote (%s): move it away, the next deploy writes '
                           'it again' % (host.where(MANIFEST), exc))
    return {name: value for name, value in certificates.items() if is_valid_name(name)}


def write_manifest(host, certificates):
    data = json.dumps({'version': VERSION, 'certificates': certificates}, indent=1, sort_keys=True).encode('utf-8')
    uid_gid = (0, 0) if os.geteuid() == 0 else (None, None)
    tmp = '.%s.tmp' % MANIFEST
    remove_tree(host.fd, tmp)
    write_entry(host.fd, tmp, Entry(data, MANIFEST_MODE, *uid_gid))
    os.rename(tmp, MANIFEST, src_dir_fd=host.fd, dst_dir_fd=host.fd)
    os.fsync(host.fd)


def record(host, names, now=None):
    """Add names to the manifest (those whose directory is on the host); True when it changed."""
    names = _check_names(names)
    current = read_manifest(host)
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime('%Y-%m-%dT%H:%M:%SZ')
    added = [name for name in names if name not in current and host.has(name)]
    if added and not host.check_mode:
        current.update({name: {'recorded': stamp} for name in added})
        write_manifest(host, current)
    return added


def _server_block(conf_dir, prefix, name):
    if not prefix or '/' in prefix:
        raise ConfigurationError('prefix %r must be the plain file name prefix of the server blocks' % (prefix,))
    return os.path.join(conf_dir, '%s%s.conf' % (prefix, name))


def retire(host, names, conf_dir=None, prefix=None, run_check=None):
    """Take the listed certificates off the host, only those the manifest lists.

    ``run_check()`` -> (rc, out, err) is the server's check (``nginx -t``), run once the
    server blocks are gone. Returns ``{'retired': [...], 'paths': [...], 'not_ours': [...]}``.
    """
    names = _check_names(names)
    manifest = read_manifest(host)
    ours = [name for name in names if name in manifest]
    result = dict(retired=ours, paths=[], not_ours=[name for name in names if name not in manifest and host.has(name)])
    blocks = {}
    for name in ours:
        if conf_dir:
            path = _server_block(conf_dir, prefix, name)
            if os.path.islink(path):
                raise AutoTLSError('%s is a symbolic link: refusing to remove it. Remove the link.' % path)
            if os.path.isfile(path):
                with open(path, 'rb') as handle:
                    blocks[path] = (handle.read(), os.stat(path))
                result['paths'].append(path)
        if host.has(name):
            result['paths'].append(host.where(name))
    if host.check_mode or not ours:
        return result
    for path in blocks:
        os.unlink(path)
    # The directories go aside (the name the file set's recovery puts back) before the
    # check, so that a configuration of the operator's own that still reads them fails the
    # check now, not nginx's next reload or start.
    aside = {}
    for name in ours:
        recover(host.fd, name)   # a retirement that stopped after moving the directory aside
        if host.has(name):
            aside[name] = '%s%s.%s' % (TMP_PREFIX, OLD_TOKEN, name)
            remove_tree(host.fd, aside[name])
            os.rename(name, aside[name], src_dir_fd=host.fd, dst_dir_fd=host.fd)
    if (blocks or aside) and run_check is not None:
        rc, out, err = run_check()
        if rc != 0:
            for name, moved in aside.items():
                os.rename(moved, name, src_dir_fd=host.fd, dst_dir_fd=host.fd)
            for path, (data, st) in blocks.items():
                with open(path, 'xb') as handle:
                    handle.write(data)
                os.chmod(path, st.st_mode & 0o7777)
                if os.geteuid() == 0:
                    os.chown(path, st.st_uid, st.st_gid)
            output = ((err or '') + (out or '')).strip()
            raise AutoTLSError('Without the server blocks and files of %s the check fails (exit %d): %s; they were '
                               'put back and nothing was removed' % (', '.join(ours), rc, output), rc=rc)
    for name in ours:
        remove_tree(host.fd, aside.get(name, name))
        del manifest[name]
    os.fsync(host.fd)
    write_manifest(host, manifest)
    return result
