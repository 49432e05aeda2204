# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The store's manifest: the last complete snapshot an issuing run wrote.

The issuer writes the manifest (:data:`MANIFEST_NAME`) last, after every file it lists. It
lists each file of the snapshot with its SHA-256 (and, in S3, the object that holds that
content) and each certificate with its serial, expiry and files. Readers (deploy runs,
checks) use only what it lists, so a reader that starts while an issuer is writing sees
the previous complete snapshot, and a certificate is never paired with another
certificate's key: before a manifest is written, every certificate's key is checked to
be the key of its certificate.

A certificate is a directory holding ``cert.pem`` (with ``privkey.pem``, ``chain.pem``,
``fullchain.pem`` beside it); its name is the directory's name.
"""

from __future__ import annotations

import datetime
import json
import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import CERT_FILE, KEY_FILE
from ansible_collections.autotls.acme.plugins.module_utils._store.aside import KINDS as ASIDE_KINDS

try:
    from cryptography import x509
    from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import key_matches_certificate
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the module reports missing_required_lib
    HAS_CRYPTOGRAPHY = False

MANIFEST_NAME = '.autotls-manifest.json'
MANIFEST_VERSION = 1
_SHA256 = re.compile(r'[0-9a-f]{64}')


class ManifestError(AutoTLSError):
    """The manifest is unreadable, or the files it would list do not belong together."""


def certificate_dirs(relpaths):
    """``{dir: name}`` of the directories holding a ``cert.pem`` among ``relpaths``.

    Sets kept aside (``retired/``, ``revoked/``) are files of the store, not certificates.
    """
    found = {}
    for relpath in relpaths:
        if relpath.rsplit('/', 1)[-1] == CERT_FILE and '/' in relpath and relpath.split('/', 1)[0] not in ASIDE_KINDS:
            directory = relpath.rsplit('/', 1)[0]
            found[directory] = directory.rsplit('/', 1)[-1]
    return found


def describe_certificate(directory, read):
    """``{'serial', 'not_after'}`` of ``<directory>/cert.pem``; its key must belong to it.

    ``read(relpath)`` gives a file's bytes (or None). Raises :class:`ManifestError` when the
    certificate cannot be read or its ``privkey.pem`` is another certificate's key.
    """
    cert_pem = read(directory + '/' + CERT_FILE)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem or b'')
    except ValueError as exc:
        raise ManifestError('%s/%s is not a PEM certificate (%s): the store would hold a broken certificate'
                            % (directory, CERT_FILE, exc), certificate=directory)
    key_pem = read(directory + '/' + KEY_FILE)
    if key_pem is not None and not key_matches_certificate(key_pem, cert):
        raise ManifestError(
            '%s/%s is not the key of %s/%s: the store must never hold a mismatched pair. Nothing was written; '
            'issue the certificate again (autotls_force) or put back the matching key'
            % (directory, KEY_FILE, directory, CERT_FILE), certificate=directory)
    return dict(serial='%x' % cert.serial_number,
                not_after=cert.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ'))


def build(files, read, holder, previous=None, now=None, keys=None, retired=None):
    """A new manifest for the snapshot ``files`` (``{relpath: sha256}``).

    ``read(relpath)`` gives a file's bytes, for the certificates; those whose files did not
    change since ``previous`` keep its description without being read again. ``keys``
    (``{relpath: object key}``) and ``retired`` (``{object key: iso time}``) are for S3.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    previous = previous or {}
    old_files = previous.get('files') or {}
    old_certs = {cert.get('dir'): cert for cert in (previous.get('certificates') or {}).values()}
    certificates = {}
    for directory, name in sorted(certificate_dirs(files).items()):
        members = sorted(rel for rel in files if rel.rsplit('/', 1)[0] == directory and '/' in rel)
        unchanged = directory in old_certs and all(
            (old_files.get(rel) or {}).get('sha256') == files[rel] for rel in members) \
            and sorted(old_certs[directory].get('files') or []) == members
        if unchanged:
            description = dict(serial=old_certs[directory]['serial'], not_after=old_certs[directory]['not_after'])
        else:
            description = describe_certificate(directory, read)
        if name in certificates:
            raise ManifestError('Two certificates are named %s (%s and %s): give one another name'
                                % (name, certificates[name]['dir'], directory))
        certificates[name] = dict(description, dir=directory, files=members)
    entries = {}
    for relpath, digest in sorted(files.items()):
        entries[relpath] = dict(sha256=digest)
        if keys is not None:
            entries[relpath]['key'] = keys[relpath]
    manifest = dict(version=MANIFEST_VERSION, generation=int(previous.get('generation') or 0) + 1,
                    written=now.strftime('%Y-%m-%dT%H:%M:%SZ'), holder=holder, files=entries,
                    certificates=certificates)
    if retired:
        manifest['retired'] = dict(sorted(retired.items()))
    return manifest


def encode(manifest):
    return json.dumps(manifest, sort_keys=True, indent=1).encode('utf-8')


def parse(data, where):
    """The manifest in ``data``; raises :class:`ManifestError` naming ``where`` when it is not one."""
    try:
        manifest = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError('The manifest %s is not JSON (%s): restore it, or remove it to let the next issuing '
                            'run write a new one' % (where, exc))
    problem = None
    if not isinstance(manifest, dict) or manifest.get('version') != MANIFEST_VERSION:
        found = manifest.get('version') if isinstance(manifest, dict) else None
        problem = 'version %r, expected %d' % (found, MANIFEST_VERSION)
    elif not isinstance(manifest.get('files'), dict) or not isinstance(manifest.get('certificates'), dict):
        problem = 'no files or certificates'
    else:
        for relpath, entry in manifest['files'].items():
            if not isinstance(entry, dict) or not isinstance(entry.get('sha256'), str) \
                    or not _SHA256.fullmatch(entry['sha256']):
                problem = 'no valid sha256 for %s' % relpath
                break
    if problem:
        raise ManifestError('The manifest %s is not one this collection reads (%s): a newer version of the '
                            'collection may have written it; use that version' % (where, problem))
    return manifest


def summary(manifest):
    """What a module returns about a manifest: generation, when and by whom, serials; no checksums."""
    if not manifest:
        return {}
    return dict(generation=manifest.get('generation'), written=manifest.get('written'),
                holder=manifest.get('holder'),
                certificates={name: dict(serial=cert.get('serial'), not_after=cert.get('not_after'),
                                         files=cert.get('files'))
                              for name, cert in sorted(manifest['certificates'].items())})
