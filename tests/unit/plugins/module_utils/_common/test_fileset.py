# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A set of files replaced in one step, on a real file system (no mocks of the kernel call)."""

import errno
import os
import stat
import threading

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common import fileset
from ansible_collections.autotls.acme.plugins.module_utils._common.fileset import (
    Entry, UnsafePathError, open_directory, read_set, recover, replace_set,
)

NAMES = ('cert.pem', 'privkey.pem')


def entries(tag):
    return {'cert.pem': Entry(b'CERT-' + tag, 0o644, None, None),
            'privkey.pem': Entry(b'KEY-' + tag, 0o600, None, None)}


def contents(directory):
    return {name: (directory / name).read_bytes() for name in NAMES if (directory / name).exists()}


@pytest.fixture
def parent(tmp_path):
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    yield tmp_path, fd
    os.close(fd)


@pytest.fixture(params=['exchange', 'two renames'])
def swap_kind(request, monkeypatch):
    """Each test runs with the kernel's exchange and with the fallback."""
    if request.param == 'exchange':
        assert fileset._load_renameat2(), 'renameat2 should be reachable on this Linux machine'
    else:
        monkeypatch.setattr(fileset, '_renameat2', False)
    return request.param


def test_new_set_goes_in_whole_and_the_old_one_can_come_back(parent, swap_kind):
    path, fd = parent
    replace_set(fd, 'web', entries(b'1')).commit()
    assert contents(path / 'web') == {'cert.pem': b'CERT-1', 'privkey.pem': b'KEY-1'}
    assert stat.S_IMODE(os.stat(path / 'web' / 'privkey.pem').st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path / 'web').st_mode) == 0o755

    replacement = replace_set(fd, 'web', entries(b'2'))
    assert contents(path / 'web') == {'cert.pem': b'CERT-2', 'privkey.pem': b'KEY-2'}
    # The old set waits aside, whole, until commit or undo.
    assert contents(path / replacement.aside) == {'cert.pem': b'CERT-1', 'privkey.pem': b'KEY-1'}
    replacement.undo()
    assert contents(path / 'web') == {'cert.pem': b'CERT-1', 'privkey.pem': b'KEY-1'}
    assert sorted(os.listdir(path)) == ['web']


def test_other_files_and_directories_of_the_set_are_kept(parent, swap_kind):
    path, fd = parent
    replace_set(fd, 'web', entries(b'1')).commit()
    (path / 'web' / 'notes.txt').write_bytes(b'mine')
    (path / 'web' / 'extra').mkdir()
    (path / 'web' / 'extra' / 'x').write_bytes(b'x')
    replacement = replace_set(fd, 'web', entries(b'2'))
    assert (path / 'web' / 'notes.txt').read_bytes() == b'mine'
    assert (path / 'web' / 'extra' / 'x').read_bytes() == b'x'
    replacement.undo()
    assert (path / 'web' / 'extra' / 'x').read_bytes() == b'x'
    assert contents(path / 'web')['cert.pem'] == b'CERT-1'


def test_a_full_disk_on_the_third_write_leaves_the_old_set(parent, monkeypatch, swap_kind):
    path, fd = parent
    replace_set(fd, 'web', dict(entries(b'1'), **{'chain.pem': Entry(b'C1', 0o644, None, None)})).commit()
    before = sorted(os.listdir(path / 'web'))
    writes = []
    real_write = fileset._write_chunk

    def full_disk(fd_, data):
        writes.append(len(data))
        if len(writes) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd_, data)

    monkeypatch.setattr(fileset, '_write_chunk', full_disk)
    with pytest.raises(OSError) as failure:
        replace_set(fd, 'web', dict(entries(b'2'), **{'chain.pem': Entry(b'C2', 0o644, None, None)}))
    assert failure.value.errno == errno.ENOSPC
    assert len(writes) == 3
    assert contents(path / 'web') == {'cert.pem': b'CERT-1', 'privkey.pem': b'KEY-1'}
    assert sorted(os.listdir(path / 'web')) == before
    assert sorted(os.listdir(path)) == ['web']       # the staged set is gone


def test_a_failed_rename_of_the_fallback_puts_the_old_set_straight_back(parent, monkeypatch):
    """Without the kernel's exchange, a new set that cannot be renamed in leaves the old set in place."""
    path, fd = parent
    monkeypatch.setattr(fileset, '_renameat2', False)
    replace_set(fd, 'web', entries(b'1')).commit()
    real_rename = os.rename

    def failing_rename(src, dst, **kwargs):
        if src.startswith(fileset.TMP_PREFIX) and not src.startswith(fileset.TMP_PREFIX + fileset.OLD_TOKEN) \
                and dst == 'web':
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_rename(src, dst, **kwargs)

    monkeypatch.setattr(os, 'rename', failing_rename)
    with pytest.raises(OSError) as failure:
        replace_set(fd, 'web', entries(b'2'))
    assert failure.value.errno == errno.EIO
    assert contents(path / 'web') == {'cert.pem': b'CERT-1', 'privkey.pem': b'KEY-1'}
    assert sorted(os.listdir(path)) == ['web']


def test_the_paths_stay_valid_while_sets_are_swapped(parent):
    """A reader opening <name>/privkey.pem in a loop never finds it missing."""
    path, fd = parent
    replace_set(fd, 'web', entries(b'0')).commit()
    stop = threading.Event()
    missing = []
    seen = set()

    def reader():
        while not stop.is_set():
            try:
                with open(path / 'web' / 'privkey.pem', 'rb') as handle:
                    seen.add(handle.read())
            except FileNotFoundError as exc:
                missing.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(150):
            replace_set(fd, 'web', entries(b'%d' % round_)).commit()
    finally:
        stop.set()
        thread.join()
    assert missing == []
    assert seen <= {b'KEY-%d' % n for n in range(150)} | {b'KEY-0'}


def test_recover_puts_back_a_set_left_aside_by_a_crash(parent, monkeypatch):
    """The two-rename fallback, stopped between its renames: the next run finds the old set."""
    path, fd = parent
    replace_set(fd, 'web', entries(b'1')).commit()
    os.rename('web', '.autotls-old.web', src_dir_fd=fd, dst_dir_fd=fd)          # first rename done, then a crash
    os.mkdir(path / '.autotls-0a1b2c3d4e5f.web')                               # and a staged set never swapped in
    os.mkdir(path / '.autotls-0a1b2c3d4e5f.web.other')                         # another certificate's: left alone
    assert recover(fd, 'web') is True
    assert contents(path / 'web') == {'cert.pem': b'CERT-1', 'privkey.pem': b'KEY-1'}
    assert sorted(os.listdir(path)) == ['.autotls-0a1b2c3d4e5f.web.other', 'web']
    assert recover(fd, 'web') is False


def test_open_directory_refuses_links_foreign_and_writable_directories(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    (tmp_path / 'link').symlink_to(real)
    with pytest.raises(UnsafePathError, match=r'link is a symbolic link .*Give the real directory'):
        open_directory(str(tmp_path / 'link' / 'certs'), owners={os.geteuid()}, create_mode=0o755)
    assert list(real.iterdir()) == []
    os.chmod(real, 0o777)
    with pytest.raises(UnsafePathError, match=r'writable by group and others \(mode 0777\).*chmod go-w'):
        open_directory(str(real), owners={os.geteuid()})
    os.chmod(real, 0o755)
    umask = os.umask(0o077)
    try:
        fd = open_directory(str(real / 'certs' / 'a'), owners={os.geteuid()}, create_mode=0o755)
    finally:
        os.umask(umask)
    os.close(fd)
    assert stat.S_IMODE(os.stat(real / 'certs').st_mode) == 0o755
    assert stat.S_IMODE(os.stat(real / 'certs' / 'a').st_mode) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason='giving a directory to another user needs root')
def test_open_directory_refuses_a_directory_of_another_user(tmp_path):
    theirs = tmp_path / 'theirs'
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    with pytest.raises(UnsafePathError, match=r'theirs belongs to .*uid 65534.*not to root \(uid 0\).*chown root:root'):
        open_directory(str(theirs / 'certs'), owners={0}, create_mode=0o755)
    assert list(theirs.iterdir()) == []


def test_read_set_never_follows_a_link(parent, tmp_path):
    path, fd = parent
    (tmp_path / 'secret').write_bytes(b'outside')
    os.symlink(str(tmp_path / 'secret'), str(tmp_path / 'cert.pem'))
    with pytest.raises(UnsafePathError, match='cert.pem is a symbolic link'):
        read_set(fd, NAMES, str(tmp_path))
