# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A directory of files that belong together, replaced as one set.

A certificate's ``cert.pem``, ``chain.pem``, ``fullchain.pem`` and ``privkey.pem`` must
never be seen mixed (a new key beside an old certificate), not after a crash, not on a
full disk. The new set is written into a sibling directory ``.autotls-<token>.<name>``
(each file fsynced, owner and mode set before the first byte), then exchanged with
``<name>`` in one step by Linux ``renameat2(RENAME_EXCHANGE)``: the paths
``<parent>/<name>/<file>`` that servers read stay valid at every instant, and show the
old set or the new one, never a mix. The old set then sits under the sibling name
until the caller commits (removes it) or undoes (exchanges again).

Where the kernel or file system cannot exchange (not Linux, NFS), the set is swapped
with two renames; a crash between them leaves ``<name>`` missing for a moment and the
old set under ``.autotls-old.<name>``, which the next run puts back (``recover``).

Everything works on directory descriptors: nothing here follows a symbolic link
(``O_NOFOLLOW``, ``dir_fd=``, ``follow_symlinks=False``). With ``owners`` given,
``open_directory`` also refuses a path with a directory not owned by one of them, or
writable by group or others (a sticky directory such as /tmp is allowed above the
last one), so another user of the host cannot redirect or read what root writes.

Standard library only: used on the controller (the store) and on hosts (cert_files).
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import errno
import os
import platform
import secrets
import stat

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError

RENAME_EXCHANGE = 2
TMP_PREFIX = '.autotls-'
OLD_TOKEN = 'old'
# renameat2 system call numbers, for a C library without the renameat2() wrapper (musl < 1.2.5).
_RENAMEAT2_SYSCALL = {'x86_64': 316, 'aarch64': 276, 'i386': 353, 'i686': 353, 'armv7l': 382,
                      'ppc64le': 357, 's390x': 347}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)

# One file of a set: its bytes, mode, and owner (None: leave as created).
Entry = collections.namedtuple('Entry', 'data mode uid gid')


class UnsafePathError(AutoTLSError):
    """A path that another user could redirect (symbolic link, foreign or writable directory)."""


class ExchangeUnsupported(Exception):
    """renameat2(RENAME_EXCHANGE) is not available here."""


_renameat2 = None


def _load_renameat2():
    """A callable renameat2(olddirfd, oldpath, newdirfd, newpath, flags) -> int, or False."""
    global _renameat2
    if _renameat2 is None:
        _renameat2 = False
        if platform.system() == 'Linux':
            try:
                libc = ctypes.CDLL(ctypes.util.find_library('c') or None, use_errno=True)
            except OSError:
                libc = None
            if libc is not None and hasattr(libc, 'renameat2'):
                func = libc.renameat2
                func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                _renameat2 = func
            elif libc is not None and platform.machine() in _RENAMEAT2_SYSCALL:
                number = _RENAMEAT2_SYSCALL[platform.machine()]
                syscall = libc.syscall
                syscall.restype = ctypes.c_long

                def _syscall_renameat2(olddirfd, oldpath, newdirfd, newpath, flags):
                    return syscall(ctypes.c_long(number), ctypes.c_int(olddirfd), ctypes.c_char_p(oldpath),
                                   ctypes.c_int(newdirfd), ctypes.c_char_p(newpath), ctypes.c_uint(flags))
                _renameat2 = _syscall_renameat2
    return _renameat2


def exchange(dir_fd, a, b):
    """Swap the entries a and b of directory dir_fd in one step."""
    func = _load_renameat2()
    if not func:
        raise ExchangeUnsupported()
    if func(dir_fd, os.fsencode(a), dir_fd, os.fsencode(b), RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise ExchangeUnsupported()
        raise OSError(err, os.strerror(err), b)


# -- reaching a directory without following links ---------------------------------------

def open_directory(path, owners=None, create_mode=None):
    """A descriptor of directory ``path``, reached from / one component at a time.

    No component may be a symbolic link. With ``owners`` (a set of uids), every directory
    on the way must belong to one of them and not be writable by group or others (sticky
    ones excepted, except the last). Missing components are created with
    ``create_mode`` when it is given (else FileNotFoundError).
    """
    path = os.path.abspath(path)
    fd = os.open('/', _DIR_FLAGS)
    try:
        _check_directory(fd, '/', owners, last=path == '/')
        done = ''
        parts = [p for p in path.split('/') if p]
        for index, part in enumerate(parts):
            done += '/' + part
            last = index == len(parts) - 1
            created = False
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if create_mode is None:
                    raise
                os.mkdir(part, create_mode, dir_fd=fd)
                created = True
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise UnsafePathError(
                    '%s is a symbolic link (to %s): certificate files are never written through links on a host. '
                    'Give the real directory (%s) instead.' % (done, os.readlink(part, dir_fd=fd),
                                                               os.path.realpath(done)), path=done)
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafePathError('%s is not a directory.' % done, path=done)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
            if created:
                os.fchmod(fd, create_mode)      # whatever the umask
            _check_directory(fd, done, owners, last)
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_subdirectory(dir_fd, name, where, owners=None):
    """Descriptor of the directory ``name`` inside dir_fd, or None if there is none; never a link."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError('%s is a symbolic link (to %s): refusing to follow it. Remove the link; the next run '
                              'writes a real directory there.' % (where, os.readlink(name, dir_fd=dir_fd)), path=where)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError('%s is not a directory: move it away.' % where, path=where)
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        _check_directory(fd, where, owners, last=True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_directory(fd, where, owners, last):
    if owners is None:
        return
    st = os.fstat(fd)
    if st.st_uid not in owners:
        raise UnsafePathError(
            '%s belongs to %s, not to %s: another user could swap or read the certificate files there. '
            'Give it to root (chown root:root %s; chmod 0755 %s) or choose another directory.'
            % (where, _user_name(st.st_uid), ' or '.join(_user_name(uid) for uid in sorted(owners)), where, where),
            path=where)
    writable = st.st_mode & 0o022
    if writable and (last or not st.st_mode & stat.S_ISVTX):
        raise UnsafePathError(
            '%s is writable by %s (mode %04o): another user could put links or files there. '
            'Run chmod go-w %s.' % (where, 'group and others' if writable == 0o022 else
                                    'its group' if writable == 0o020 else 'others',
                                    stat.S_IMODE(st.st_mode), where), path=where)


def _user_name(uid):
    try:
        import pwd
        return '%s (uid %d)' % (pwd.getpwuid(uid).pw_name, uid)
    except (ImportError, KeyError):
        return 'uid %d' % uid


# -- reading and writing files in a directory descriptor ---------------------------------

def read_entry(dir_fd, filename, where):
    """The Entry of a regular file in dir_fd, or None if it does not exist; never through a link."""
    try:
        fd = os.open(filename, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0),
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError('%s is a symbolic link: refusing to follow it. Remove the link.' % where,
                                  path=where) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError('%s is not a regular file: move it away.' % where, path=where)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        return Entry(b''.join(chunks), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    finally:
        os.close(fd)


def read_set(dir_fd, filenames, where):
    """{filename: Entry} of those of filenames present in dir_fd."""
    found = {}
    for filename in filenames:
        entry = read_entry(dir_fd, filename, '%s/%s' % (where, filename))
        if entry is not None:
            found[filename] = entry
    return found


def _write_chunk(fd, data):
    return os.write(fd, data)


def write_entry(dir_fd, filename, entry):
    """Create filename in dir_fd (it must not exist) with entry's owner and mode, then its bytes, fsynced."""
    fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0),
                 0o600, dir_fd=dir_fd)
    try:
        if entry.uid is not None or entry.gid is not None:
            os.fchown(fd, -1 if entry.uid is None else entry.uid, -1 if entry.gid is None else entry.gid)
        os.fchmod(fd, entry.mode)
        view = memoryview(entry.data)
        while view:
            view = view[_write_chunk(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_tree(dir_fd, name):
    """Remove name (a file, or a directory and all it holds) from dir_fd, never following a link."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        for child in os.listdir(fd):
            remove_tree(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


# -- replacing a set ---------------------------------------------------------------------

def _tmp_name(name, token=None):
    return '%s%s.%s' % (TMP_PREFIX, token or secrets.token_hex(6), name)


def recover(dir_fd, name):
    """Clean up after a run that stopped half-way: True if anything was found.

    A staged set that never went in is removed; an old set left aside by the two-rename
    fallback goes back when ``<name>`` is missing, else it is removed.
    """
    found = False
    present = _exists(dir_fd, name)
    for entry in os.listdir(dir_fd):
        if not entry.startswith(TMP_PREFIX):
            continue
        token, _sep, owner = entry[len(TMP_PREFIX):].partition('.')
        if owner != name:
            continue
        found = True
        if token == OLD_TOKEN and not present:
            os.rename(entry, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            present = True
        else:
            remove_tree(dir_fd, entry)
    if found:
        os.fsync(dir_fd)
    return found


def _exists(dir_fd, name):
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


class Replacement:
    """One set swapped in: ``commit()`` drops the old set, ``undo()`` puts it back."""

    def __init__(self, dir_fd, name, aside, moved):
        self.dir_fd = dir_fd
        self.name = name
        self.aside = aside      # where the old set is now, None when there was none
        self.moved = moved      # subdirectories carried over from the old set after the swap

    def commit(self):
        if self.aside:
            remove_tree(self.dir_fd, self.aside)
            os.fsync(self.dir_fd)

    def undo(self):
        """Put the old set back in one step (or remove the new one when there was none)."""
        if self.aside:
            if self.moved:
                new_fd = os.open(self.name, _DIR_FLAGS, dir_fd=self.dir_fd)
                old_fd = os.open(self.aside, _DIR_FLAGS, dir_fd=self.dir_fd)
                try:
                    for child in self.moved:
                        os.rename(child, child, src_dir_fd=new_fd, dst_dir_fd=old_fd)
                finally:
                    os.close(new_fd)
                    os.close(old_fd)
            _swap(self.dir_fd, self.aside, self.name)
            remove_tree(self.dir_fd, self.aside)
        else:
            aside = _tmp_name(self.name)
            os.rename(self.name, aside, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            remove_tree(self.dir_fd, aside)
        os.fsync(self.dir_fd)


def _swap(dir_fd, staged, name):
    """Exchange staged and name; with no exchange at hand, two renames through .autotls-old.<name>."""
    try:
        exchange(dir_fd, staged, name)
    except ExchangeUnsupported:
        old = _tmp_name(name, OLD_TOKEN)
        os.rename(name, old, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        try:
            os.rename(staged, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            # The new set could not go in: the old one goes back at once, not at the next run.
            os.rename(old, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            raise
        os.rename(old, staged, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def replace_set(dir_fd, name, files, dir_mode=0o755, subdirs=None, keep_others=True):
    """Make ``<dir_fd>/<name>/`` hold exactly ``files`` ({filename: Entry}) in one step.

    ``subdirs`` ({dirname: (mode, {filename: Entry})}) are written inside the new set too.
    Other entries of the current ``<name>/`` (not among files or subdirs) are kept when
    ``keep_others``: files are hard-linked into the new set before the swap, directories
    moved into it right after. Returns a Replacement; on any failure before the swap the
    current set is untouched and the staged one removed.
    """
    subdirs = subdirs or {}
    staged = _tmp_name(name)
    os.mkdir(staged, 0o700, dir_fd=dir_fd)
    carried_dirs = []
    try:
        fd = os.open(staged, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            for filename, entry in files.items():
                write_entry(fd, filename, entry)
            for dirname, (mode, entries) in subdirs.items():
                os.mkdir(dirname, 0o700, dir_fd=fd)
                sub = os.open(dirname, _DIR_FLAGS, dir_fd=fd)
                try:
                    for filename, entry in entries.items():
                        write_entry(sub, filename, entry)
                    os.fchmod(sub, mode)
                    os.fsync(sub)
                finally:
                    os.close(sub)
            if keep_others:
                carried_dirs = _link_others(dir_fd, name, fd, set(files) | set(subdirs))
            os.fchmod(fd, dir_mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        present = _exists(dir_fd, name)
        if present:
            _swap(dir_fd, staged, name)
        else:
            os.rename(staged, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        remove_tree(dir_fd, staged)
        raise
    os.fsync(dir_fd)
    replacement = Replacement(dir_fd, name, staged if present else None, [])
    if carried_dirs:
        new_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        old_fd = os.open(staged, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            for child in carried_dirs:
                os.rename(child, child, src_dir_fd=old_fd, dst_dir_fd=new_fd)
                replacement.moved.append(child)
        finally:
            os.close(new_fd)
            os.close(old_fd)
    return replacement


def _link_others(dir_fd, name, new_fd, ours):
    """Hard-link the current set's other files into new_fd; return its other directories."""
    try:
        old_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return []
    directories = []
    try:
        for child in os.listdir(old_fd):
            if child in ours:
                continue
            if stat.S_ISDIR(os.stat(child, dir_fd=old_fd, follow_symlinks=False).st_mode):
                directories.append(child)
            else:
                os.link(child, child, src_dir_fd=old_fd, dst_dir_fd=new_fd, follow_symlinks=False)
    finally:
        os.close(old_fd)
    return directories
