# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP-01 tokens on a host: all of a host's tokens written, or removed, in one module run.

Standard library only: runs on hosts through the http01_tokens module. A key authorization
is public by design (the CA fetches it over plain HTTP), so it may be logged and returned.
"""

from __future__ import annotations

import errno
import os
import re
import stat

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError

CHALLENGE_DIR = '.well-known/acme-challenge'
# RFC 8555 8.3: a token is base64url without padding; a key authorization is
# <token>.<base64url of the account key's thumbprint>.
_B64URL = re.compile(r'^[A-Za-z0-9_-]+$')


def check_tokens(tokens, need_content=True):
    """Return [(relative path, key authorization)] for the tokens, or raise ConfigurationError naming the bad one."""
    checked = []
    for index, entry in enumerate(tokens or []):
        token = entry.get('token') if isinstance(entry, dict) else None
        if not isinstance(token, str) or not _B64URL.match(token):
            raise ConfigurationError('tokens[%d].token must be an ACME token (letters, digits, - and _), got %r. '
                                     'Pass the http01_tokens of autotls.acme.certificate unchanged.' % (index, token))
        path = '%s/%s' % (CHALLENGE_DIR, token)
        if entry.get('path') not in (None, path):
            raise ConfigurationError('tokens[%d].path must be %s for token %s, got %r.' % (index, path, token, entry['path']))
        content = entry.get('key_authorization')
        if need_content:
            parts = content.split('.') if isinstance(content, str) else []
            if len(parts) != 2 or parts[0] != token or not _B64URL.match(parts[1]):
                raise ConfigurationError('tokens[%d].key_authorization must be "%s.<account key thumbprint>", got %r.'
                                         % (index, token, content))
        checked.append((path, content))
    return checked


class UnsafePath(AutoTLSError):
    """A path under the webroot is a symbolic link (or not a directory): nothing is written through it."""


def _refuse(webroot, relpath, what):
    return UnsafePath(
        'Refusing to %s %s: %s under the webroot %s is a symbolic link or not a directory, and tokens are never '
        'written or removed through one (it could point anywhere on the host). Remove %s, or set '
        'autotls_acme_webroot to a directory whose %s is a plain directory'
        % (what, os.path.join(webroot, relpath), relpath, webroot, os.path.join(webroot, relpath), CHALLENGE_DIR))


def _open_challenge_dir(webroot, create, what):
    """A file descriptor of ``<webroot>/.well-known/acme-challenge``, every component below the webroot opened
    without following a symbolic link; None when a component is missing and ``create`` is false.

    The webroot itself is the operator's setting and may be a link; what lies under it is never followed.
    Directories made here get 0755 (the webroot too, when its challenge directory had to be made).
    """
    if create:
        os.makedirs(webroot, mode=0o755, exist_ok=True)
    try:
        current = os.open(webroot, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    opened, relpath = [current], ''
    try:
        for part in CHALLENGE_DIR.split('/'):
            relpath = relpath + '/' + part if relpath else part
            made = False
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=current)
                    made = True
                except FileExistsError:
                    pass
            try:
                current = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=current)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _refuse(webroot, relpath, what)
                raise
            opened.append(current)
            if made:
                for handle in opened:
                    os.fchmod(handle, 0o755)  # mkdir's mode is filtered by the umask
        return opened.pop()
    finally:
        for handle in opened:
            os.close(handle)


def _read_nofollow(name, dir_fd):
    """The content of ``name`` in ``dir_fd``, or None when it is missing or not a plain file (never followed)."""
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        return _read_fd(handle) if stat.S_ISREG(os.fstat(handle).st_mode) else None
    finally:
        os.close(handle)


def _write_nofollow(name, data, dir_fd):
    """Replace ``name`` in ``dir_fd`` atomically with ``data`` (0644); a link of that name is replaced, not followed.

    Returns whether the content or mode changed.
    """
    handle = None
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        info = os.fstat(handle)
        if stat.S_ISREG(info.st_mode) and _read_fd(handle) == data:
            if stat.S_IMODE(info.st_mode) == 0o644:
                return False
            os.fchmod(handle, 0o644)
            return True
    except OSError:
        pass  # missing, or a link: written anew
    finally:
        if handle is not None:
            os.close(handle)
    tmp = '.%s.%s' % (name, os.urandom(6).hex())
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
    try:
        os.fchmod(handle, 0o644)
        os.write(handle, data)
        os.fsync(handle)
        os.close(handle)
        handle = None
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        if handle is not None:
            os.close(handle)
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise
    return True


def _read_fd(handle):
    chunks = []
    while True:
        chunk = os.read(handle, 65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


def place(webroot, tokens, check_mode=False):
    """Write each token's key authorization under webroot (directories 0755, files 0644); the paths that changed.

    Nothing under the webroot is followed when it is a symbolic link: a linked ``.well-known`` or
    ``acme-challenge`` is refused (:class:`UnsafePath`), a link in a token's place is replaced.
    """
    checked = check_tokens(tokens)
    if not checked:
        return []
    directory = _open_challenge_dir(webroot, create=not check_mode, what='write the HTTP-01 tokens into')
    if directory is None:
        return [path for path, _content in checked]  # check mode: all of them would be written
    changed = []
    try:
        for path, content in checked:
            name = path.rsplit('/', 1)[-1]
            data = content.encode('ascii')
            if check_mode:
                if _read_nofollow(name, directory) != data:
                    changed.append(path)
            elif _write_nofollow(name, data, directory):
                changed.append(path)
    finally:
        os.close(directory)
    return changed


def remove(webroot, tokens, check_mode=False):
    """Remove the tokens' files under webroot; the paths that were there (never through a symbolic link)."""
    checked = check_tokens(tokens, need_content=False)
    if not checked:
        return []
    directory = _open_challenge_dir(webroot, create=False, what='remove the HTTP-01 tokens from')
    if directory is None:
        return []
    removed = []
    try:
        for path, _content in checked:
            name = path.rsplit('/', 1)[-1]
            try:
                os.stat(name, dir_fd=directory, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not check_mode:
                try:
                    os.unlink(name, dir_fd=directory)
                except FileNotFoundError:
                    continue
            removed.append(path)
    finally:
        os.close(directory)
    return removed
