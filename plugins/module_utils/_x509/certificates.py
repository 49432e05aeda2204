# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Certificate facts (names, validity, issuer) and the on-disk certificate set."""

from __future__ import annotations

import datetime
import json
import os
import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import KeyMaterialError
from ansible_collections.autotls.acme.plugins.module_utils._common.fileset import (
    Entry, open_subdirectory, read_set, recover, replace_set,
)
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import key_type_of
# File names of one certificate set: named once, in the model.
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import (  # noqa: F401 pylint: disable=unused-import
    CERT_FILE,
    CHAIN_FILE,
    FULLCHAIN_FILE,
    ISSUER_FILE,
    KEY_FILE,
)

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - modules report missing_required_lib
    pass

_PEM_CERT_RE = re.compile(
    rb'-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----', re.DOTALL)


def split_pem_chain(pem):
    """The certificates of a PEM bundle, each as PEM bytes, in order."""
    if isinstance(pem, str):
        pem = pem.encode('utf-8')
    return [m.group(0) + b'\n' for m in _PEM_CERT_RE.finditer(pem)]


def load_certificate(pem):
    if isinstance(pem, str):
        pem = pem.encode('utf-8')
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise KeyMaterialError('Could not parse certificate: %s' % exc)


def certificate_names(cert):
    """DNS names of the SAN, lower-cased, in certificate order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [n.lower() for n in san.get_values_for_type(x509.DNSName)]


def not_valid_before(cert):
    return cert.not_valid_before_utc


def not_valid_after(cert):
    return cert.not_valid_after_utc


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def issuer_common_name(cert):
    attrs = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return attrs[0].value if attrs else cert.issuer.rfc4514_string()


def describe(cert, now=None):
    """The facts a module returns about a certificate (never anything secret)."""
    now = now or utcnow()
    after = not_valid_after(cert)
    before = not_valid_before(cert)
    lifetime = (after - before).total_seconds()
    left = (after - now).total_seconds()
    return {
        'serial': '%x' % cert.serial_number,
        'domains': certificate_names(cert),
        'not_before': before.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'not_after': after.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'days_left': round(left / 86400.0, 2),
        'lifetime_fraction_left': round(max(0.0, left) / lifetime, 4) if lifetime > 0 else 0.0,
        'issuer': issuer_common_name(cert),
        'key_type': key_type_of(cert.public_key()),
    }


def same_names(a, b):
    return sorted(set(n.lower() for n in a)) == sorted(set(n.lower() for n in b))


class CertificateFiles:
    """The four files of one certificate in ``<dest>/<name>/``."""

    def __init__(self, directory):
        self.directory = directory

    def path(self, filename):
        return os.path.join(self.directory, filename)

    def exists(self):
        return os.path.exists(self.path(CERT_FILE)) and os.path.exists(self.path(KEY_FILE))

    def read_certificate(self):
        """The current leaf certificate, or None if there is none (or it is unreadable)."""
        try:
            with open(self.path(CERT_FILE), 'rb') as handle:
                return x509.load_pem_x509_certificate(handle.read())
        except (OSError, ValueError):
            return None

    def read_key_pem(self):
        try:
            with open(self.path(KEY_FILE), 'rb') as handle:
                return handle.read()
        except OSError:
            return None

    def read_issuer(self):
        """``{'issuer': name, 'directory': url}`` recorded with the set, with ``owner`` (the inventory's
        ``autotls_store_owner``) when one was recorded; None when none was (or it is unreadable)."""
        try:
            with open(self.path(ISSUER_FILE), 'rb') as handle:
                data = json.loads(handle.read().decode('utf-8'))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get('issuer'), str):
            return None
        record = {'issuer': data['issuer'], 'directory': data.get('directory') if isinstance(data.get('directory'), str)
                  else None}
        if isinstance(data.get('owner'), str) and data['owner']:
            record['owner'] = data['owner']
        return record

    def write(self, fullchain_pem, key_pem, file_mode=0o644, key_mode=0o600, issuer=None):
        """Write cert, chain, fullchain and key as one set; True if the content changed.

        ``issuer`` (``{'issuer': name, 'directory': url}``) is recorded in the same set
        (:data:`ISSUER_FILE`, store only), for the revocation and the renewal information.

        The four files go into a new directory beside ``<name>/``, which is then swapped
        in with one rename (``_common.fileset``): a crash or a full disk half-way leaves
        the previous set whole, never a new key beside an old certificate. When the
        content is already there, only the modes are put right.
        """
        certs = split_pem_chain(fullchain_pem)
        if not certs:
            raise KeyMaterialError('The CA returned no certificate in its chain')
        if isinstance(key_pem, str):
            key_pem = key_pem.encode('utf-8')
        wanted = {
            KEY_FILE: (key_pem, key_mode),
            CERT_FILE: (certs[0], file_mode),
            CHAIN_FILE: (b''.join(certs[1:]), file_mode),
            FULLCHAIN_FILE: (b''.join(certs), file_mode),
        }
        if issuer:
            wanted[ISSUER_FILE] = (json.dumps(issuer, sort_keys=True).encode('utf-8') + b'\n', file_mode)
        parent, name = os.path.split(os.path.abspath(self.directory))
        os.makedirs(parent, mode=0o755, exist_ok=True)
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            current = {}
            fd = open_subdirectory(parent_fd, name, self.directory)
            if fd is not None:
                try:
                    current = read_set(fd, list(wanted), self.directory)
                finally:
                    os.close(fd)
            if set(current) == set(wanted) and all(current[f].data == data for f, (data, _m) in wanted.items()):
                for filename, (_data, mode) in wanted.items():
                    if current[filename].mode != mode:
                        os.chmod(self.path(filename), mode)
                return False
            recover(parent_fd, name)
            replace_set(parent_fd, name, {f: Entry(data, mode, None, None) for f, (data, mode) in wanted.items()},
                        dir_mode=0o755).commit()
            return True
        finally:
            os.close(parent_fd)

    def files(self):
        return {
            'cert': self.path(CERT_FILE),
            'chain': self.path(CHAIN_FILE),
            'fullchain': self.path(FULLCHAIN_FILE),
            'privkey': self.path(KEY_FILE),
        }
