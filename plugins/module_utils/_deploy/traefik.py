# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The `traefik` server kind on the host: Traefik's file provider, checked before and after.

Traefik has no configuration check and no reload: its file provider watches a directory
and applies what it finds there at once. So a certificate is handed over with one file per
certificate in that directory, ``<dynamic_dir>/autotls-<name>.yml``, listing the standard
set's ``fullchain.pem`` and ``privkey.pem`` under ``tls.certificates``, and

- before anything is swapped in (``precheck``), the new dynamic file must parse and name
  exactly that certificate's files, and the new certificate and key must load as a pair
  (Python's ``ssl``, as a TLS server loads them): a broken certificate never reaches Traefik;
- after the swap (``confirm``), the dynamic file is renamed onto itself when its content did
  not change (Traefik reads the certificate files again on any change in the directory),
  then the served certificate is fetched with the certificate's name as SNI until it is the
  new one, within a bounded wait; when it does not become the new one, the caller puts the
  previous files back.

The dynamic file is JSON (which YAML reads as well), so the host parses it with the
standard library. Its first line is a comment that says which certificate it belongs to and
which name the served-serial check asks for.

Standard library only: runs on hosts through the cert_files module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import time

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import FULLCHAIN_FILE, KEY_FILE
from ansible_collections.autotls.acme.plugins.module_utils._model.names import is_valid_name

PREFIX = 'autotls-'
SUFFIX = '.yml'
_HEADER = re.compile(r'# Managed by autotls\.acme \(server (?P<server>\S+)\): certificate (?P<name>\S+), '
                     r'checked as (?P<sni>\S+)\.')
_PEM_CERT = re.compile(rb'-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----', re.S)


def config_path(dynamic_dir, name):
    """The dynamic file of certificate `name`."""
    return '%s/%s%s%s' % (dynamic_dir.rstrip('/'), PREFIX, name, SUFFIX)


def check_name(domains):
    """The name the served-serial check sends as SNI: the first domain; for a wildcard, a name it covers."""
    first = domains[0]
    return 'autotls-check' + first[1:] if first.startswith('*.') else first


def render(server, name, domains, cert_dir):
    """The dynamic file of one certificate (text)."""
    directory = '%s/%s' % (cert_dir.rstrip('/'), name)
    document = {'tls': {'certificates': [{'certFile': '%s/%s' % (directory, FULLCHAIN_FILE),
                                          'keyFile': '%s/%s' % (directory, KEY_FILE)}]}}
    return ('# Managed by autotls.acme (server %s): certificate %s, checked as %s.\n%s\n'
            % (server, name, check_name(domains), json.dumps(document, indent=2, sort_keys=True)))


def parse(text, path):
    """(certificate name, SNI, certFile, keyFile) of a dynamic file written by render(); else ConfigurationError."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    lines = text.split('\n', 1)
    header = _HEADER.fullmatch(lines[0])
    if header is None:
        raise ConfigurationError('%s lacks its first line "# Managed by autotls.acme (server S): certificate N, '
                                 'checked as NAME."' % path)
    try:
        document = json.loads(lines[1] if len(lines) > 1 else '')
        [entry] = document['tls']['certificates']
        cert_file, key_file = entry['certFile'], entry['keyFile']
        if not isinstance(cert_file, str) or not isinstance(key_file, str):
            raise TypeError('certFile and keyFile must be paths')
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError('%s does not parse as a dynamic file listing one certificate: %s' % (path, exc))
    return header.group('name'), header.group('sni'), cert_file, key_file


def check_pair(fullchain, key, where):
    """The certificate chain and key load as a TLS server's pair; ConfigurationError naming `where` if not."""
    if not _PEM_CERT.search(fullchain or b''):
        raise ConfigurationError('%s/%s holds no PEM certificate.' % (where, FULLCHAIN_FILE))
    scratch = tempfile.mkdtemp(prefix='autotls-pair-')   # 0700, removed below
    try:
        cert_path, key_path = os.path.join(scratch, 'fullchain.pem'), os.path.join(scratch, 'key.pem')
        for path, data in ((cert_path, fullchain), (key_path, key or b'')):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise ConfigurationError('%s/%s and %s/%s do not load as a certificate and its key: %s'
                                     % (where, FULLCHAIN_FILE, where, KEY_FILE, exc.reason or exc))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def leaf_der(fullchain):
    """DER of the first certificate of a PEM chain."""
    match = _PEM_CERT.search(fullchain)
    if match is None:
        raise ConfigurationError('no PEM certificate in the chain')
    return ssl.PEM_cert_to_DER_cert(match.group(0).decode('ascii'))


def _der_item(data, offset):
    """(tag, content start, content end) of the DER item at offset."""
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7f
        length = int.from_bytes(data[start:start + count], 'big')
        start += count
    return tag, start, start + length


def der_serial(der):
    """The serial number (lowercase hex, as testbed and cert_info show it) of a DER certificate."""
    _tag, cert_start, _end = _der_item(der, 0)          # Certificate
    _tag, tbs_start, _end = _der_item(der, cert_start)  # tbsCertificate
    tag, start, end = _der_item(der, tbs_start)
    if tag == 0xa0:                                     # [0] version
        tag, start, end = _der_item(der, end)
    if tag != 0x02:
        raise ValueError('not an X.509 certificate')
    return '%x' % int.from_bytes(der[start:end], 'big')


def served_leaf(address, port, server_name, timeout=3.0):
    """DER of the certificate served at address:port for SNI server_name (not verified: any is looked at)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True)


def touch(path):
    """Rename a copy of the file onto it (same content, mode, owner): the file provider sees a change."""
    directory, filename = os.path.split(path)
    st = os.stat(path)
    fd, staged = tempfile.mkstemp(prefix='.autotls-touch-', dir=directory)
    try:
        with open(path, 'rb') as source, os.fdopen(fd, 'wb') as target:
            target.write(source.read())
            target.flush()
            os.fsync(target.fileno())
        os.chmod(staged, st.st_mode & 0o7777)
        if os.geteuid() == 0:
            os.chown(staged, st.st_uid, st.st_gid)
        os.rename(staged, path)
    except BaseException:
        try:
            os.unlink(staged)
        except FileNotFoundError:
            pass
        raise


def wait_served(address, port, server_name, expected, timeout, interval=0.2, clock=time.monotonic,
                sleep=time.sleep, fetch=served_leaf):
    """Poll until the served certificate is `expected` (DER) or `timeout` s passed: (True, serial) or
    (False, what is served: a serial or the connection error)."""
    deadline = clock() + timeout
    while True:
        try:
            der = fetch(address, port, server_name)
            seen = 'serial %s' % der_serial(der)
            if der == expected:
                return True, der_serial(der)
        except (OSError, ValueError, IndexError) as exc:
            seen = 'no certificate (%s)' % exc
        if clock() >= deadline:
            return False, seen
        sleep(interval)


# -- what the cert_files module runs for the servers of kind traefik ---------------------------

KIND = 'traefik'


def _traefik_servers(servers):
    return [server for server in servers or [] if server.get('kind') == KIND]


def precheck(servers, names, read_set, read_config):
    """Before anything is swapped in: the certificates of `names` whose new files Traefik could not load.

    ``read_set(name, filename)`` gives the bytes the set will hold (new or current; None
    when absent), ``read_config(path)`` those of a dynamic file. Returns rolled-back
    entries [{name, server, kind, rc, paths, error}], at most one per certificate.
    """
    refused = {}
    for server in _traefik_servers(servers):
        for name in names:
            if name in refused:
                continue
            path = config_path(server['dynamic_dir'], name)
            try:
                text = read_config(path)
                if text is None:
                    raise ConfigurationError('%s is missing.' % path)
                owner, _sni, cert_file, key_file = parse(text, path)
                if owner != name or not cert_file.endswith('/%s/%s' % (name, FULLCHAIN_FILE)) \
                        or not key_file.endswith('/%s/%s' % (name, KEY_FILE)):
                    raise ConfigurationError('%s names %s and %s, not the files of certificate %s.'
                                             % (path, cert_file, key_file, name))
                check_pair(read_set(name, FULLCHAIN_FILE), read_set(name, KEY_FILE), cert_file.rsplit('/', 1)[0])
            except ConfigurationError as exc:
                refused[name] = dict(name=name, server=server['name'], kind=KIND, rc=1, paths=[],
                                     error='%s Nothing was changed for it.' % exc.msg)
    return [refused[name] for name in names if name in refused]


def confirm(servers, changed, written, read_served_set, clock=time.monotonic, wait=None):
    """After the swap: each traefik server must serve the new certificate of each name in changed[server].

    ``written`` are the dynamic files this run wrote (the others are renamed onto themselves
    so that Traefik reads the swapped-in files); ``read_served_set(name)`` gives the
    fullchain now in place. Every server gets one bounded wait (its ``wait`` seconds) for
    all its certificates. Returns (confirmed {server: {name: serial}}, failed rolled-back
    entries [{name, server, kind, rc, paths, error}]).
    """
    wait = wait or wait_served
    confirmed, failed = {}, []
    for server in _traefik_servers(servers):
        names = [name for name in changed.get(server['name']) or [] if name not in {f['name'] for f in failed}]
        if not names:
            continue
        paths = {name: config_path(server['dynamic_dir'], name) for name in names}
        for name in names:
            if paths[name] not in written:
                touch(paths[name])
        deadline = clock() + server['wait']
        confirmed[server['name']] = {}
        for name in names:
            with open(paths[name], 'rb') as handle:
                _owner, sni, _cert, _key = parse(handle.read(), paths[name])
            expected = leaf_der(read_served_set(name))
            ok, seen = wait(server['address'], server['port'], sni, expected, max(0.0, deadline - clock()))
            if ok:
                confirmed[server['name']][name] = seen
                continue
            failed.append(dict(
                name=name, server=server['name'], kind=KIND, rc=1, paths=[],
                error='Traefik at %s:%d serves %s for %s, not the new serial %s, %d s after the change; the '
                      'previous files are back. Look at Traefik\'s log: its file provider must watch %s (which must '
                      'exist when Traefik starts).'
                      % (server['address'], server['port'], seen, sni, der_serial(expected), server['wait'],
                         server['dynamic_dir'])))
    return confirmed, failed


def renotify(servers, names):
    """After putting back the files of names: make Traefik read them again (each existing dynamic file)."""
    for server in _traefik_servers(servers):
        for name in names:
            path = config_path(server['dynamic_dir'], name)
            if os.path.exists(path):
                touch(path)


def retirement_check(server, cert_dir, names):
    """Traefik's check when certificates retire, once their files and dynamic files are gone: (rc, out, err).

    Traefik has no check command; a dynamic file of its own that still names a retired
    certificate's files (``<cert_dir>/<name>/``) would make it log an error and serve its
    default certificate for those names. So every other file in the directory it watches
    (and below, hidden ones aside) is read, and one that names them fails the check.
    """
    wanted = ['%s/%s/' % (cert_dir.rstrip('/'), name) for name in names]
    found = []
    for directory, subdirs, filenames in os.walk(server['dynamic_dir']):
        subdirs[:] = sorted(sub for sub in subdirs if not sub.startswith('.'))
        for filename in sorted(filenames):
            path = os.path.join(directory, filename)
            if filename.startswith('.') or not os.path.isfile(path):
                continue
            try:
                with open(path, 'rb') as handle:
                    text = handle.read().decode('utf-8', 'replace')
            except OSError as exc:
                return 1, '', 'Cannot read %s: %s' % (path, exc)
            found += ['%s names %s' % (path, prefix) for prefix in wanted if prefix in text]
    if found:
        return 1, '', ('Traefik (server %s) would no longer find files it is told to serve: %s.'
                       % (server['name'], '; '.join(found)))
    return 0, '', ''


# -- glue for cert_files' install (Install: the standard sets; FormFiles: the other files) -----

def precheck_install(servers, host, files, form_entries, read_new):
    """precheck() over what cert_files is about to install: the planned set files (``files``,
    CertFile) and other files (``form_entries``), new from ``read_new(member)``, else as on the host."""
    if not _traefik_servers(servers):
        return []
    planned = {item.path: item.path for item in files}
    configs = {entry['path']: entry.get('member') or entry['path'] for entry in form_entries}
    names = []
    for name in [item.name for item in files] + [entry.get('name') for entry in form_entries]:
        if name not in names and is_valid_name(name):   # not a file shared by all certificates
            names.append(name)

    def read_set(name, filename):
        path = '%s/%s' % (name, filename)
        if path in planned:
            return read_new(path)
        entry = host.current(name).get(filename)
        return None if entry is None else entry.data

    def read_config(path):
        if path in configs:
            return read_new(configs[path])
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    return precheck(servers, names, read_set, read_config)


def confirm_install(servers, job, forms, changed):
    """confirm() after cert_files swapped the files in and every check passed; the certificates
    Traefik does not serve in time are put back (for every server) and Traefik reads them again.
    ``changed`` ({server: [names]}) loses them. Returns (served {server: {name: serial}}, rolled back)."""
    if not _traefik_servers(servers):
        return {}, []
    written = {item.path for item, _previous in forms.written}

    def read_served_set(name):
        return job.host.current(name)[FULLCHAIN_FILE].data

    served, failed = confirm(servers, changed, written, read_served_set)
    names = [entry['name'] for entry in failed]
    if names:
        for entry in failed:
            entry['paths'] = job.changed.get(entry['name'], []) + forms.paths(entry['name'])
        job.undo([name for name in names if name in job.changed])
        forms.undo(names)
        renotify(servers, names)
        for server, certificates in changed.items():
            changed[server] = [name for name in certificates if name not in names]
    return served, failed
