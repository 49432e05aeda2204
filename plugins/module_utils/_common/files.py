# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing files so that readers see the old or the new content, never half of one.

Standard library only: used on the controller and, through the cert_files module, on hosts.
"""

from __future__ import annotations

import os
import tempfile

# The one mode rule (quoted octal strings, at most 0777) lives in the model; importable from here too.
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import parse_mode  # noqa: F401 pylint: disable=unused-import


def atomic_write(path, data, mode=0o644, uid=None, gid=None):
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync, rename).

    Returns True if the content changed. Mode (and owner, when given) are set before any
    byte is written, so a private key is never readable by others even for a moment.
    When the content is already there, only mode and owner are put right.
    """
    if isinstance(data, str):
        data = data.encode('utf-8')
    try:
        with open(path, 'rb') as handle:
            if handle.read() == data:
                _set_attributes(path, mode, uid, gid)
                return False
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(fd, mode)  # chown clears set-id bits
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True


def _set_attributes(path, mode, uid, gid):
    """Owner then mode of an existing file, only where they differ; True if anything changed."""
    st = os.stat(path)
    changed = False
    if (uid is not None and st.st_uid != uid) or (gid is not None and st.st_gid != gid):
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        changed = True
    if changed or (st.st_mode & 0o7777) != mode:
        os.chmod(path, mode)
        changed = True
    return changed
