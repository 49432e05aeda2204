# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's TLS server files, all written in one module run, checked, put back when rejected.

Standard library only: runs on hosts through the nginx_servers module. The contents were
rendered on the controller from validated entries; here they are only compared and written.
"""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write

_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')


class ServerFiles:
    """<conf_dir>/<prefix><name>.conf for each server; what was there before is kept in memory to put back."""

    def __init__(self, conf_dir, prefix, servers, mode=0o644, uid=None, gid=None):
        self.conf_dir = conf_dir
        # The prefix is what marks the files as ours: pruning removes every <prefix>*.conf.
        if not isinstance(prefix, str) or not _NAME.match(prefix):
            raise ConfigurationError('prefix %r must be a plain file name prefix such as "autotls-tls-" (letters, '
                                     'digits, ., -, _; not empty, no "/"): every %s*.conf in %s is pruned as ours.'
                                     % (prefix, prefix if isinstance(prefix, str) else '', conf_dir))
        self.prefix = prefix
        self.mode, self.uid, self.gid = mode, uid, gid
        self.servers = []
        for index, server in enumerate(servers or []):
            name = server.get('name') if isinstance(server, dict) else None
            if not isinstance(name, str) or not _NAME.match(name):
                raise ConfigurationError('servers[%d].name must be a certificate name (letters, digits, ., -, _), '
                                         'got %r.' % (index, name))
            if not isinstance(server.get('content'), str):
                raise ConfigurationError('servers[%d].content (server %s) must be the rendered text.' % (index, name))
            self.servers.append((name, server['content']))
        self.written = []      # (name, path, previous bytes or None)

    def path(self, name):
        return os.path.join(self.conf_dir, '%s%s.conf' % (self.prefix, name))

    def _current(self, path):
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def _in_place(self, path, data):
        if self._current(path) != data:
            return False
        st = os.stat(path)
        return ((st.st_mode & 0o7777) == self.mode and (self.uid is None or st.st_uid == self.uid)
                and (self.gid is None or st.st_gid == self.gid))

    def planned(self):
        """The names whose file is missing or differs (content, mode, owner)."""
        return [name for name, content in self.servers if not self._in_place(self.path(name), content.encode('utf-8'))]

    def write(self):
        """Write the servers that differ, remembering what each file held; the names written."""
        for name, content in self.servers:
            path = self.path(name)
            data = content.encode('utf-8')
            if self._in_place(path, data):
                continue
            previous = self._current(path)
            self.written.append((name, path, previous))
            atomic_write(path, data, mode=self.mode, uid=self.uid, gid=self.gid)
        return [written[0] for written in self.written]

    def put_back(self):
        """Each written file gets its previous content back; one that was new is removed."""
        for _name, path, previous in reversed(self.written):
            if previous is None:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            else:
                atomic_write(path, previous, mode=self.mode, uid=self.uid, gid=self.gid)

    def stale(self):
        """Files <prefix>*.conf of servers no longer listed."""
        wanted = {self.path(server[0]) for server in self.servers}
        pattern = os.path.join(glob.escape(self.conf_dir), glob.escape(self.prefix) + '*.conf')
        return sorted(path for path in glob.glob(pattern) if path not in wanted)


def apply(files, check, prune=True, check_mode=False):
    """Write, check (``check()`` -> (rc, out, err), or None for no check), put back on failure, prune.

    Returns dict(written=[names], paths=[...], removed=[paths], rejected=bool, rc, error).
    Nothing is pruned when the check rejects the new files; then every written file is put back.
    """
    result = dict(written=[], paths=[], removed=[], rejected=False, rc=0, error='')
    if check_mode:
        result['written'] = files.planned()
        result['paths'] = [files.path(name) for name in result['written']]
        result['removed'] = files.stale() if prune else []
        return result
    try:
        result['written'] = files.write()
        result['paths'] = [written[1] for written in files.written]
        if result['written'] and check is not None:
            rc, out, err = check()
            if rc != 0:
                files.put_back()
                result.update(rejected=True, rc=rc, error=(err or out or '').strip())
                return result
    except BaseException:
        files.put_back()
        raise
    if prune:
        for path in files.stale():
            os.unlink(path)
            result['removed'].append(path)
    return result
