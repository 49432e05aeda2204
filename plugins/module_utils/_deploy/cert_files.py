# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Certificate files on a host: install a certificate's files as one set, check, put back.

Runs on the host (through the cert_files module), standard library only. Every file is
``<dest_dir>/<name>/<file>``. A certificate's new files are written beside the current
ones and swapped in with one rename (``_common.fileset``), so nginx, reading
``<name>/fullchain.pem`` and ``<name>/privkey.pem``, sees the old set or the new one,
never a mix, whatever happens half-way. The replaced set is kept in
``<dest_dir>/<name>/<previous>/`` (root, 0600 files in a 0700 directory).

Hosts are hostile ground: the module runs as root where other users live. Nothing here
follows a symbolic link, and every directory it writes in (``<dest_dir>``, its parents,
``<name>/``, ``<previous>/``) must belong to root, or to the user the module runs as when
that is not root, and be writable by nobody else. Anything else is refused, with the
path and what to change, before a byte is written.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import secrets

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.fileset import (
    TMP_PREFIX, Entry, open_directory, open_subdirectory, read_entry, read_set, recover, remove_tree, replace_set,
    write_entry,
)
from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import SHARED
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import CERTIFICATE_FILES, KEY_FILE
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import parse_mode
from ansible_collections.autotls.acme.plugins.module_utils._model.names import RULE, is_valid_name

PREVIOUS_MODE = 0o600
PREVIOUS_DIR_MODE = 0o700
CERT_DIR_MODE = 0o755
DEST_DIR_MODE = 0o755


class CertFile:
    """One planned file: which certificate, which file, with which owner, group and mode."""

    def __init__(self, entry):
        path = entry.get('path') or ''
        name, _sep, filename = path.partition('/')
        if not is_valid_name(name) or filename not in CERTIFICATE_FILES:
            raise ConfigurationError('%r is not <name>/<file> with a certificate name of %s and a file among %s.'
                                     % (path, RULE, ', '.join(CERTIFICATE_FILES)))
        self.path = path
        self.name = name
        self.filename = filename
        self.uid = resolve_user(entry.get('owner'))
        self.gid = resolve_group(entry.get('group'))
        self.mode = parse_mode(entry.get('mode'), 'mode of %s' % path, key=filename == KEY_FILE)

    def differs_from(self, current, data):
        """Whether writing data with our owner, group and mode would change current (an Entry or None)."""
        return (current is None or current.data != data or current.mode != self.mode
                or (self.uid is not None and current.uid != self.uid)
                or (self.gid is not None and current.gid != self.gid))


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


def check_previous_dir(previous):
    """previous_dir is one plain name inside <name>/, not a path."""
    if (not isinstance(previous, str) or not previous or '/' in previous or '\0' in previous
            or previous in ('.', '..') or previous in CERTIFICATE_FILES):
        raise ConfigurationError('previous_dir %r must be a plain directory name such as ".previous" (no "/", not '
                                 '"." or "..", not a certificate file name).' % (previous,))
    return previous


def trusted_owners():
    """Who may own the directories written in: root, and the user the module runs as."""
    return {0, os.geteuid()}


class HostCertificates:
    """The certificate directory of a host, opened safely; one instance per module run."""

    def __init__(self, dest_dir, previous='.previous', check_mode=False, owners=None):
        self.dest_dir = os.path.normpath(os.path.abspath(dest_dir))
        self.previous = check_previous_dir(previous)
        self.check_mode = check_mode
        self.owners = trusted_owners() if owners is None else owners
        self.fd = None

    def __enter__(self):
        try:
            self.fd = open_directory(self.dest_dir, self.owners,
                                     create_mode=None if self.check_mode else DEST_DIR_MODE)
        except FileNotFoundError:
            if not self.check_mode:
                raise
            self.fd = None      # check mode, nothing there yet: every file is new
        return self

    def __exit__(self, *exc_info):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def where(self, name, *rest):
        return '/'.join((self.dest_dir, name) + rest)

    def has(self, name):
        """Whether <name>/ exists (a real directory; a link is refused)."""
        fd = None if self.fd is None else open_subdirectory(self.fd, name, self.where(name), self.owners)
        if fd is None:
            return False
        os.close(fd)
        return True

    def current(self, name, subdir=None):
        """{filename: Entry} of <name>/ (or <name>/<subdir>/); {} when absent."""
        if self.fd is None:
            return {}
        fd = open_subdirectory(self.fd, name, self.where(name), self.owners)
        if fd is None:
            return {}
        try:
            if subdir is None:
                return read_set(fd, CERTIFICATE_FILES, self.where(name))
            sub = open_subdirectory(fd, subdir, self.where(name, subdir), self.owners)
            if sub is None:
                return {}
            try:
                return read_set(sub, CERTIFICATE_FILES, self.where(name, subdir))
            finally:
                os.close(sub)
        finally:
            os.close(fd)

    def replace(self, name, files, previous_files):
        """Swap in a new set for name; the current files become <name>/<previous>/. A Replacement."""
        recover(self.fd, name)
        subdirs = {}
        if previous_files:
            subdirs[self.previous] = (PREVIOUS_DIR_MODE, {
                filename: Entry(entry.data, PREVIOUS_MODE, *_root_owner())
                for filename, entry in previous_files.items()})
        return replace_set(self.fd, name, files, CERT_DIR_MODE, subdirs)


def _root_owner():
    return (0, 0) if os.geteuid() == 0 else (None, None)


def inspect(host, names):
    """What the host holds of each certificate in names, as the find module lists files (no content).

    path, checksum (SHA-1, as find and stat give it), mode ('0644'), uid, gid, pw_name,
    gr_name: what the filter cert_deploy_plan compares with the store. A missing directory
    is no files; a link or a foreign directory is refused as install would refuse it.
    """
    found = []
    for name in names:
        if not is_valid_name(name):
            raise ConfigurationError('%r is not a certificate name (%s).' % (name, RULE))
        for filename, entry in sorted(host.current(name).items()):
            found.append({'path': host.where(name, filename),
                          'checksum': hashlib.sha1(entry.data).hexdigest(),  # nosec: a checksum, as find's
                          'mode': '%04o' % entry.mode, 'uid': entry.uid, 'gid': entry.gid,
                          'pw_name': _name_of(pwd.getpwuid, entry.uid), 'gr_name': _name_of(grp.getgrgid, entry.gid)})
    return found


def _name_of(lookup, number):
    try:
        return lookup(number)[0]
    except (KeyError, TypeError):
        return ''


def by_certificate(files):
    """The planned files grouped by certificate name, in plan order: [(name, [CertFile])]."""
    groups = {}
    for item in files:
        groups.setdefault(item.name, []).append(item)
    return list(groups.items())


class Install:
    """Install the planned files, certificate by certificate, each set swapped in whole.

    ``read_new(path)`` gives the new bytes of a planned ``<name>/<file>``. After
    ``run()``, ``replacements`` holds the swapped-in certificates (name -> Replacement),
    ``changed_paths`` the planned paths that differed and ``kept`` those that had a
    version before. A failure half-way puts every certificate of this run back.
    """

    def __init__(self, host, files, read_new):
        self.host = host
        self.files = files
        self.read_new = read_new
        self.replacements = {}
        self.changed = {}       # name -> [paths]
        self.kept = []

    def run(self):
        try:
            for name, items in by_certificate(self.files):
                current = self.host.current(name)
                self.kept += [item.path for item in items if item.filename in current]
                new = dict(current)
                changed = []
                for item in items:
                    data = self.read_new(item.path)
                    if item.differs_from(current.get(item.filename), data):
                        changed.append(item.path)
                    new[item.filename] = Entry(data, item.mode, item.uid, item.gid)
                if not changed:
                    continue
                self.changed[name] = changed
                if not self.host.check_mode:
                    self.replacements[name] = self.host.replace(name, new, current)
        except BaseException:
            self.undo(list(self.replacements))
            raise
        return self

    @property
    def changed_paths(self):
        return [path for paths in self.changed.values() for path in paths]

    def undo(self, names):
        """Put the previous sets of names back (first error raised after trying them all)."""
        first = None
        for name in names:
            replacement = self.replacements.pop(name, None)
            self.changed.pop(name, None)
            if replacement is None:
                continue
            try:
                replacement.undo()
            except OSError as exc:
                first = first or exc
        if first is not None:
            raise first

    def commit(self):
        for replacement in self.replacements.values():
            replacement.commit()

    def validate(self, run):
        """Check the installed certificates with run() -> (rc, out, err); isolate the failing ones.

        When the check fails, the certificates whose directory the error names are put
        back and the check runs again, until it passes or names none of this run's
        certificates (then every one of them is put back). Returns the rolled-back
        certificates as [{'name', 'paths', 'error'}].
        """
        rolled_back = []
        for _attempt in range(len(self.changed) + 1):
            if not self.changed:
                break
            rc, out, err = run()
            if rc == 0:
                break
            error = ((err or '') + ('\n' if err and out else '') + (out or '')).strip() or 'exit %d' % rc
            named = [name for name in self.changed if self.host.where(name) + '/' in error]
            blamed = named or list(self.changed)
            for name in blamed:
                rolled_back.append(dict(name=name, paths=self.changed[name], rc=rc,
                                        error=error if named else 'the check failed and named no certificate of '
                                        'this run, so all of them were put back: %s' % error))
            self.undo(blamed)
        return rolled_back


def put_back(host, files, kept):
    """Undo the last install of the certificates of files: each <name>/<previous>/ set back in one step.

    A certificate none of whose files were in kept had no previous version: its
    directory is removed. Returns the paths that changed.
    """
    kept = set(kept)
    changed = []
    for name, items in by_certificate(files):
        if any(item.path in kept for item in items):
            previous = host.current(name, host.previous)
            if not previous:
                raise AutoTLSError('%s has no files to put back.' % host.where(name, host.previous))
            current = host.current(name)
            restored = {}
            for filename, entry in previous.items():
                item = next((i for i in items if i.filename == filename), None)
                attrs = item or _attrs_of(current.get(filename), entry)
                restored[filename] = Entry(entry.data, attrs.mode, attrs.uid, attrs.gid)
            if restored == current:
                continue
            changed += [item.path for item in items]
            if not host.check_mode:
                replacement = host.replace(name, restored, previous)
                replacement.commit()
        elif host.has(name):
            changed += [item.path for item in items]
            if not host.check_mode:
                remove_tree(host.fd, name)
                os.fsync(host.fd)
    return changed


def _attrs_of(current, previous):
    return current or Entry(previous.data, 0o644, None, None)


# -- the files a server kind reads beyond the standard set (one file per certificate) -------

class FormFile:
    """One planned file of a server kind: an absolute path, the certificate it belongs to, attributes."""

    def __init__(self, entry):
        path = entry.get('path') or ''
        name = entry.get('name')
        directory, _sep, filename = path.rpartition('/')
        if (not path.startswith('/') or not filename or filename in ('.', '..') or '\0' in path
                or '..' in path.split('/')):
            raise ConfigurationError('%r is not an absolute file path (no "..").' % (path,))
        if not is_valid_name(name) and name != SHARED:
            raise ConfigurationError('The file %s names no certificate (%r is not a name of %s).' % (path, name, RULE))
        self.path = path
        self.directory = directory or '/'
        self.filename = filename
        self.name = name
        self.member = entry.get('member') or path
        self.servers = list(entry.get('servers') or [])
        self.uid = resolve_user(entry.get('owner'))
        self.gid = resolve_group(entry.get('group'))
        self.mode = parse_mode(entry.get('mode'), 'mode of %s' % path, key=bool(entry.get('key')))

    def differs_from(self, current, data):
        return CertFile.differs_from(self, current, data)


class FormFiles:
    """Write form files one by one (each atomically, by rename), keep what they held to put back."""

    def __init__(self, files, read_new, owners=None, check_mode=False):
        self.files = files
        self.read_new = read_new
        self.owners = trusted_owners() if owners is None else owners
        self.check_mode = check_mode
        self.written = []       # (FormFile, previous Entry or None)

    def _open(self, directory, create):
        try:
            return open_directory(directory, self.owners, create_mode=DEST_DIR_MODE if create else None)
        except FileNotFoundError:
            if create:
                raise
            return None

    def current(self, item):
        fd = self._open(item.directory, create=False)
        if fd is None:
            return None
        try:
            return read_entry(fd, item.filename, item.path)
        finally:
            os.close(fd)

    def run(self):
        try:
            for item in self.files:
                data = self.read_new(item.member)
                current = self.current(item)
                if not item.differs_from(current, data):
                    continue
                self.written.append((item, current))
                if not self.check_mode:
                    self._write(item, Entry(data, item.mode, item.uid, item.gid))
        except BaseException:
            self.undo()
            raise
        return self

    def remove(self):
        """Remove the files that exist (retirement), keeping what each held so that undo() puts it back."""
        try:
            for item in self.files:
                current = self.current(item)
                if current is None:
                    continue
                self.written.append((item, current))
                if not self.check_mode:
                    self._remove(item)
        except BaseException:
            self.undo()
            raise
        return self

    def _write(self, item, entry):
        fd = self._open(item.directory, create=True)
        try:
            staged = '%s%s.%s' % (TMP_PREFIX, secrets.token_hex(6), item.filename)
            write_entry(fd, staged, entry)
            try:
                os.rename(staged, item.filename, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                os.unlink(staged, dir_fd=fd)
                raise
            os.fsync(fd)
        finally:
            os.close(fd)

    def _remove(self, item):
        fd = self._open(item.directory, create=False)
        if fd is None:
            return
        try:
            os.unlink(item.filename, dir_fd=fd)
            os.fsync(fd)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)

    def names(self, server=None):
        """The certificates with a file written (for server, when given)."""
        return [item.name for item, _prev in self.written if server is None or server in item.servers]

    def paths(self, name):
        return [item.path for item, _prev in self.written if item.name == name]

    def undo(self, names=None):
        """Put back what the files of names (all when None) held; a new file is removed.

        A file that cannot be put back does not stop the others: once every file was tried,
        an :class:`AutoTLSError` names each one that was not (``not_restored``: their paths).
        """
        keep, failed = [], []
        for item, previous in reversed(self.written):
            if names is not None and item.name not in names:
                keep.append((item, previous))
                continue
            if self.check_mode:
                continue
            try:
                if previous is None:
                    self._remove(item)
                else:
                    self._write(item, previous)
            except (OSError, AutoTLSError) as exc:
                failed.append((item.path, getattr(exc, 'strerror', None) or str(exc)))
        self.written = list(reversed(keep))
        if failed:
            reasons = ['%s (%s)' % pair for pair in failed]
            raise AutoTLSError('Could not put back %s' % '; '.join(reasons),
                               not_restored=[path for path, _why in failed], reasons=reasons)


def inspect_forms(paths, owners=None):
    """As inspect(), for form files given by absolute path: those that exist."""
    found = []
    reader = FormFiles([], None, owners, check_mode=True)
    for path in paths:
        item = FormFile({'path': path, 'name': 'x', 'mode': '0600', 'key': True})
        entry = reader.current(item)
        if entry is None:
            continue
        found.append({'path': path, 'checksum': hashlib.sha1(entry.data).hexdigest(),  # nosec: a checksum
                      'mode': '%04o' % entry.mode, 'uid': entry.uid, 'gid': entry.gid,
                      'pw_name': _name_of(pwd.getpwuid, entry.uid), 'gr_name': _name_of(grp.getgrgid, entry.gid)})
    return found


def validate_servers(job, forms, servers, run):
    """Check each server whose files changed; put back the certificates a failing check names.

    ``job`` is the Install of the standard sets (shared by every server), ``forms`` the
    FormFiles, ``servers`` [{name, kind, validate}], ``run(argv)`` -> (rc, out, err). A
    failing check puts back the certificates whose directory or file its error names (all
    of this run's when it names none), then every check runs again, until all pass.
    Returns (rolled_back [{name, server, kind, paths, rc, error}], {server: [names still changed]}).
    """
    rolled_back = []

    def changed_for(server):
        names = list(job.changed) + [n for n in forms.names(server['name']) if n not in job.changed]
        return names

    for _attempt in range(len(set(job.changed) | set(forms.names())) + 1):
        failed = False
        for server in servers:
            names = changed_for(server)
            if not names or not server.get('validate'):
                continue
            rc, out, err = run(server['validate'])
            if rc == 0:
                continue
            error = ((err or '') + ('\n' if err and out else '') + (out or '')).strip() or 'exit %d' % rc
            named = [name for name in names if name != SHARED
                     and (job.host.where(name) + '/' in error or any(path in error for path in forms.paths(name)))]
            blamed = named or names
            for name in blamed:
                rolled_back.append(dict(
                    name=name, server=server['name'], kind=server.get('kind', server['name']), rc=rc,
                    paths=job.changed.get(name, []) + forms.paths(name),
                    error=error if named else 'the check failed and named no certificate of this run, so all of '
                    'them were put back: %s' % error))
            job.undo([name for name in blamed if name in job.changed])
            forms.undo(blamed)
            failed = True
            break
        if not failed:
            break
    return rolled_back, {server['name']: changed_for(server) for server in servers}
