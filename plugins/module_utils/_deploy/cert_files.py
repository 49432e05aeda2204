# -*- coding: utf-8 -*-
# Copyright: autotls.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate files on a host: keep the current ones, install new ones, put the old ones back.

Runs on the host (through the cert_files module), standard library only. Every file is
``<dest_dir>/<name>/<file>``; the copy kept for a rollback is
``<dest_dir>/<name>/<previous>/<file>`` (root, 0600, in a 0700 directory). Writes are
atomic with owner and mode set before the first byte, so a key is never readable by
anyone else, not even for a moment.
"""

from __future__ import annotations

import grp
import os
import pwd

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import CERTIFICATE_FILES, KEY_FILE
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import parse_mode
from ansible_collections.autotls.acme.plugins.module_utils._model.names import RULE, is_valid_name
PREVIOUS_MODE = 0o600
PREVIOUS_DIR_MODE = 0o700
CERT_DIR_MODE = 0o755


class CertFile:
    """One planned file: where it goes and with which owner, group and mode."""

    def __init__(self, dest_dir, entry, previous):
        path = entry.get('path') or ''
        name, _sep, filename = path.partition('/')
        if not is_valid_name(name) or filename not in CERTIFICATE_FILES:
            raise ConfigurationError('%r is not <name>/<file> with a certificate name of %s and a file among %s.'
                                     % (path, RULE, ', '.join(CERTIFICATE_FILES)))
        self.path = path
        self.directory = os.path.join(dest_dir, name)
        self.target = os.path.join(self.directory, filename)
        self.previous_directory = os.path.join(self.directory, previous)
        self.previous = os.path.join(self.previous_directory, filename)
        self.uid = resolve_user(entry.get('owner'))
        self.gid = resolve_group(entry.get('group'))
        self.mode = parse_mode(entry.get('mode'), 'mode of %s' % path, key=filename == KEY_FILE)

    def differs_from(self, data):
        """Whether writing data with our owner, group and mode would change the target."""
        try:
            st = os.stat(self.target)
            with open(self.target, 'rb') as handle:
                current = handle.read()
        except FileNotFoundError:
            return True
        return (current != data or (st.st_mode & 0o7777) != self.mode
                or (self.uid is not None and st.st_uid != self.uid)
                or (self.gid is not None and st.st_gid != self.gid))


def resolve_user(owner):
    return _resolve(owner, lambda name: pwd.getpwnam(name).pw_uid, 'User', 'owner', 'autotls_cert_owner')


def resolve_group(group):
    return _resolve(group, lambda name: grp.getgrnam(name).gr_gid, 'Group', 'group', 'autotls_cert_group')


def _resolve(value, lookup, kind, option, variable):
    """A user or group name, or number, as the number; None when not set."""
    if value is None or value == '':
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    try:
        return lookup(str(value))
    except KeyError:
        raise ConfigurationError('%s %r does not exist on this host: create it first, or set %s (or %s) to an '
                                 'existing one.' % (kind, value, option, variable)) from None


def ensure_directory(path, mode, check_mode):
    """Create path (and parents) with mode, or put its mode right; True if anything changed."""
    if not os.path.isdir(path):
        if not check_mode:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)
        return True
    if (os.stat(path).st_mode & 0o7777) != mode:
        if not check_mode:
            os.chmod(path, mode)
        return True
    return False


def keep_previous(files, check_mode=False):
    """Copy each existing target to its previous/ file. Returns the paths kept."""
    kept = []
    root = 0 if os.geteuid() == 0 else None  # the copies belong to root when we can say so
    for item in files:
        if not os.path.exists(item.target):
            continue
        kept.append(item.path)
        if check_mode:
            continue
        ensure_directory(item.previous_directory, PREVIOUS_DIR_MODE, check_mode)
        with open(item.target, 'rb') as handle:
            atomic_write(item.previous, handle.read(), PREVIOUS_MODE, uid=root, gid=root)
    return kept


def install(files, read_new, check_mode=False):
    """Write each file's new content (read_new(path) -> bytes). Returns the paths that changed."""
    changed = []
    for item in files:
        data = read_new(item.path)
        if not item.differs_from(data):
            continue
        changed.append(item.path)
        if check_mode:
            continue
        ensure_directory(item.directory, CERT_DIR_MODE, check_mode)
        atomic_write(item.target, data, item.mode, uid=item.uid, gid=item.gid)
    return changed


def put_back(files, kept, check_mode=False):
    """Undo install: the kept files back in place, the files that had no previous version removed.

    Returns the paths that changed.
    """
    kept = set(kept)
    changed = []
    for item in files:
        if item.path in kept:
            with open(item.previous, 'rb') as handle:
                data = handle.read()
            if item.differs_from(data):
                changed.append(item.path)
                if not check_mode:
                    atomic_write(item.target, data, item.mode, uid=item.uid, gid=item.gid)
        elif os.path.lexists(item.target):
            changed.append(item.path)
            if not check_mode:
                os.unlink(item.target)
    return changed
