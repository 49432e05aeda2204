# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the collection wrote on a host, and taking a retired certificate off it.

Runs on the host (through the host_manifest module), standard library only.
``<dest_dir>/.autotls-manifest.json`` (root, 0600) lists the certificates cert_deploy
installed there and, for each, the files beyond the set that the host's servers read
(HAProxy's combined PEM, Apache's virtual host, a custom server's files, Traefik's
dynamic file: what the kinds of ``_deploy.kinds`` write). Retirement removes only what it
lists: the certificate's directory ``<dest_dir>/<name>/``, those files, and nginx's server
block ``<conf_dir>/<prefix><name>.conf`` (the prefix is the collection's own; nginx_tls
writes and prunes those files). The manifest keeps the SHA-256 of each of those files as
it was recorded; one whose content changed since (the operator edited it) is left where
it is, and reported. All of it goes (the directory is moved aside, the other files are
kept in memory), every server of the host runs its check, and only when all pass is it
removed for good; a failing check (a configuration that still reads the files) puts
everything back and removes nothing. Putting back goes on past a path it cannot restore,
and then names every one.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess

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
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import FormFile, FormFiles
from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import KINDS
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
    return {name: value for name, value in certificates.items() if is_valid_name(name) and isinstance(value, dict)}


def _check_files(files):
    """{name: [absolute paths]}: the files beyond the set that the servers read, per certificate."""
    checked = {}
    for name, paths in (files or {}).items():
        _check_names([name])
        if not isinstance(paths, list):
            raise ConfigurationError('files of %s must be a list of paths, got %r.' % (name, paths))
        for path in paths:
            FormFile({'path': path, 'name': name, 'mode': '0600', 'key': True})   # absolute, no '..'
        checked[name] = sorted(set(paths))
    return checked


def write_manifest(host, certificates):
    data = json.dumps({'version': VERSION, 'certificates': certificates}, indent=1, sort_keys=True).encode('utf-8')
    uid_gid = (0, 0) if os.geteuid() == 0 else (None, None)
    tmp = '.%s.tmp' % MANIFEST
    remove_tree(host.fd, tmp)
    write_entry(host.fd, tmp, Entry(data, MANIFEST_MODE, *uid_gid))
    os.rename(tmp, MANIFEST, src_dir_fd=host.fd, dst_dir_fd=host.fd)
    os.fsync(host.fd)


def _sha256(reader, path):
    """The SHA-256 (hex) of the file at ``path`` as it is now, or None when there is none."""
    entry = reader.current(FormFile({'path': path, 'name': 'x', 'mode': '0600', 'key': True}))
    return None if entry is None else hashlib.sha256(entry.data).hexdigest()


def record(host, names, now=None, files=None, owners=None):
    """Add names to the manifest (those whose directory is on the host), with their ``files``
    ({name: [paths]}, added to those recorded before) and the SHA-256 of each file as it is
    now (the content the collection wrote); the names added or given new files or content."""
    names = _check_names(names)
    files = _check_files(files)
    current = read_manifest(host)
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime('%Y-%m-%dT%H:%M:%SZ')
    reader = FormFiles([], None, owners, check_mode=True)
    changed = []
    for name in names:
        if name not in current and not host.has(name):
            continue
        entry = dict(current.get(name) or {'recorded': stamp})
        known = entry.get('files') if isinstance(entry.get('files'), list) else []
        entry['files'] = sorted(set(known) | set(files.get(name, [])))
        hashes = {path: _sha256(reader, path) for path in entry['files']}
        entry['sha256'] = {path: digest for path, digest in hashes.items() if digest is not None}
        if entry != current.get(name):
            current[name] = entry
            changed.append(name)
    if changed and not host.check_mode:
        write_manifest(host, current)
    return changed


def _server_block(conf_dir, prefix, name):
    if not prefix or '/' in prefix:
        raise ConfigurationError('prefix %r must be the plain file name prefix of the server blocks' % (prefix,))
    return os.path.join(conf_dir, '%s%s.conf' % (prefix, name))


def retirement_paths(entry, name, servers, conf_dir=None, prefix=None):
    """The files beyond the set that retiring ``name`` removes: nginx's server block (with
    ``conf_dir``), then the files its manifest ``entry`` lists. A certificate recorded
    before the manifest listed files: what the host's servers write for it now."""
    paths = [_server_block(conf_dir, prefix, name)] if conf_dir else []
    recorded = entry.get('files')
    if not isinstance(recorded, list):
        recorded = [path for server in servers for path in KINDS[server['kind']].retired_paths(server, name)]
    return paths + [path for path in recorded if isinstance(path, str) and path not in paths]


def _unchanged(host, entry, name, servers, conf_dir, prefix, owners):
    """The files retiring ``name`` removes, as FormFiles items, and those left because their
    content is no longer what the manifest recorded ([{name, path}]).

    Only the files the manifest lists are compared (nginx's server block carries the
    collection's own prefix): one with a recorded SHA-256 goes when its content still has
    it; one without goes only when the entry was recorded before the manifest kept them
    (then, as before, whatever is there goes)."""
    hashes = entry.get('sha256')
    listed = entry.get('files') if isinstance(entry.get('files'), list) and isinstance(hashes, dict) else []
    reader = FormFiles([], None, owners, check_mode=True)
    items, left = [], []
    for path in retirement_paths(entry, name, servers, conf_dir, prefix):
        if path in listed:
            digest = _sha256(reader, path)
            if digest is None:
                continue        # gone already
            if digest != hashes.get(path):
                left.append(dict(name=name, path=path))
                continue
        items.append(FormFile({'path': path, 'name': name, 'mode': '0600', 'key': True}))
    return items, left


def _failure(server, rc, out, err):
    error = ((err or '') + ('\n' if err and out else '') + (out or '')).strip() or 'exit %d' % rc
    return dict(server=server['name'], kind=server['kind'], rc=rc, error=error,
                command=' '.join(server.get('validate') or []) or '(checked in Python)')


def retire(host, names, servers, run, conf_dir=None, prefix=None, owners=None):
    """Take the listed certificates off the host, only those the manifest lists.

    ``servers``: the host's servers (normalised entries of ``autotls_servers``); each
    runs its check (``Kind.check_without``, ``run(argv)`` -> (rc, out, err)) once
    everything is gone. nginx's server blocks go only where a server is of kind nginx.
    Returns ``{'retired', 'paths', 'not_ours', 'kept', 'reload', 'left'}``: ``kept`` says,
    for each certificate put back, which server's check failed; ``reload`` names the
    servers to reload (each once); ``left`` the files ([{name, path}]) not removed because
    their content changed since the manifest recorded it.
    """
    names = _check_names(names)
    manifest = read_manifest(host)
    ours = [name for name in names if name in manifest]
    result = dict(retired=ours, paths=[], not_ours=[name for name in names if name not in manifest and host.has(name)],
                  kept=[], reload=[], left=[])
    servers = list(servers)
    for server in servers:
        if not isinstance(server, dict) or server.get('kind') not in KINDS or not server.get('name'):
            raise ConfigurationError('Each server must be an entry as the filter autotls.acme.servers gives it (name, '
                                     'kind one of %s), got %r.' % (', '.join(sorted(KINDS)), server))
    if not any(server['kind'] == 'nginx' for server in servers):
        conf_dir = None          # no nginx here: no server block of the collection's
    items = []
    for name in ours:
        removed, left = _unchanged(host, manifest[name], name, servers, conf_dir, prefix, owners)
        items += removed
        result['left'] += left
    directories = [host.where(name) for name in ours if host.has(name)]
    files = FormFiles(items, None, owners, check_mode=host.check_mode).remove()
    result['paths'] = [item.path for item, _previous in files.written] + directories
    if host.check_mode or not ours:
        return result
    # The directories go aside (the name the file set's recovery puts back) before the
    # checks, so that a configuration of the operator's own that still reads them fails a
    # check now, not the server's next reload or start.
    aside = {}
    try:
        for name in ours:
            recover(host.fd, name)   # a retirement that stopped after moving the directory aside
            if host.has(name):
                aside[name] = '%s%s.%s' % (TMP_PREFIX, OLD_TOKEN, name)
                remove_tree(host.fd, aside[name])
                os.rename(name, aside[name], src_dir_fd=host.fd, dst_dir_fd=host.fd)
        failed = None
        if files.written or aside:
            for server in servers:
                outcome = KINDS[server['kind']].check_without(server, host.dest_dir, ours, run)
                if outcome is not None and outcome[0] != 0:
                    failed = _failure(server, *outcome)
                    break
    except BaseException as exc:
        _put_back(host, aside, files, cause=exc)
        raise
    if failed is not None:
        named = [name for name in ours if host.where(name) + '/' in failed['error']
                 or any(path in failed['error'] for path in files.paths(name))]
        _put_back(host, aside, files, cause='the check of server %s failed' % failed['server'])
        result.update(retired=[], paths=[], kept=[dict(failed, name=name, named=name in named) for name in ours])
        return result
    for name in ours:
        remove_tree(host.fd, aside.get(name, name))
        del manifest[name]
    os.fsync(host.fd)
    write_manifest(host, manifest)
    if files.written or aside:
        result['reload'] = [server['name'] for server in servers]
    return result


CHECK_TIMEOUT = 60


def timed_run(timeout=CHECK_TIMEOUT):
    """A ``run(argv)`` for :func:`retire` that stops a check after ``timeout`` seconds.

    While the checks run, the certificates' files are off the host: a check that hangs
    (a server waiting on a lock, a prompt) must not keep them off. It is killed and
    answers exit 124, as coreutils' ``timeout`` does, so retirement puts everything back.
    """
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 3600:
        raise ConfigurationError('check_timeout must be a number of seconds from 1 to 3600, got %r.' % (timeout,))

    def run(argv):
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return 124, '', 'The check %s did not finish within %d s (check_timeout) and was stopped' % (
                ' '.join(argv), timeout)
        except OSError as exc:
            return 127, '', 'Cannot run the check %s: %s' % (' '.join(argv), exc.strerror or exc)
        return (done.returncode, done.stdout.decode('utf-8', 'replace'), done.stderr.decode('utf-8', 'replace'))
    return run


def kept_message(kept):
    """What a host says when a server's check put its retirement back (``retire()``'s ``kept``)."""
    if not kept:
        return ''
    first = kept[0]
    named = [entry['name'] for entry in kept if entry.get('named')]
    return ("Retiring certificate(s) %s failed the check of server %s (kind %s) '%s' (exit %d) with their files and "
            'server configuration gone; everything is back in place and nothing was removed, here or in the store. '
            'Take them out of what still reads them (%s), then run again. Error: %s'
            % (', '.join(entry['name'] for entry in kept), first['server'], first['kind'], first['command'],
               first['rc'], ', '.join(named) if named else 'the error names none of them', first['error']))


def _put_back(host, aside, files, cause=None):
    """Put every directory and file back; one that cannot be does not stop the others, and
    the error then names each path not restored (and where a directory's files are)."""
    failed, paths = [], []
    for name, moved in aside.items():
        try:
            os.rename(moved, name, src_dir_fd=host.fd, dst_dir_fd=host.fd)
        except OSError as exc:
            failed.append('%s (%s; its files are in %s)' % (host.where(name), exc.strerror or exc, host.where(moved)))
            paths.append(host.where(name))
    try:
        files.undo()
    except AutoTLSError as exc:
        failed += exc.details.get('reasons') or [exc.msg]
        paths += exc.details.get('not_restored') or []
    if failed:
        raise AutoTLSError('Retirement could not put back everything it had taken off%s; not restored: %s. Put '
                           'them back by hand before the next reload.'
                           % (' after: %s' % cause if cause is not None else '', '; '.join(failed)),
                           not_restored=paths)
