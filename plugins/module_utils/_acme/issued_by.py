# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which of the issuers issued a stored certificate: the CA to revoke it at, and to ask ARI.

0. The issuer the caller names (the revoke module's ``issuer``), when the operator tells.
1. What the store recorded with the certificate (``issuer.json`` beside its files, written
   in the same step): the issuer of that name, else the issuer with that directory (an
   issuer renamed in the inventory).
2. Sets written before the issuer was recorded: the issuer whose trust (its CA bundle, or
   the root checked against its fingerprint) holds the CA certificate that signed the
   certificate or its chain (its name, and the signature checked with its key). When the
   trust of several issuers holds it (two directories or provisioners of one CA, under one
   root), the trust cannot tell: :class:`AmbiguousIssuer` is raised, naming them. Asking
   the first would revoke at a CA that may not have issued it (which refuses) or ask its
   renewal information of one that knows nothing of it.
3. Otherwise (no trust holds it) the first issuer, as before there were several.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.issuers import resolve_directory
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import CHAIN_FILE
from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import split_pem_chain

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
except ImportError:  # pragma: no cover - modules report missing_required_lib
    pass

GIVEN = 'given'
RECORDED = 'recorded'
TRUST = 'trust'
FIRST = 'first'


class AmbiguousIssuer(AutoTLSError):
    """The store does not record who issued a certificate, and the trust of several issuers signed it."""

    def __init__(self, msg, candidates):
        super().__init__(msg, candidate_issuers=list(candidates))
        self.candidates = list(candidates)


def signed_under(cert, ca):
    """Whether ``ca`` is ``cert`` itself or the CA certificate that signed it (its name and signature checked)."""
    if cert == ca:
        return True
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _read_pems(path):
    try:
        with open(path, 'rb') as handle:
            return [x509.load_pem_x509_certificate(pem) for pem in split_pem_chain(handle.read())]
    except (OSError, ValueError, AutoTLSError):
        return []


class IssuedBy:
    """Finds the issuer (of ``issuers``, the checked list of ``_model.issuers``) of stored certificates."""

    def __init__(self, issuers):
        if not issuers:
            raise AutoTLSError('at least one issuer is needed')
        self.issuers = list(issuers)
        self._trust = {}

    def trust(self, issuer):
        """The CA certificates of ``issuer``'s trust (its ca_bundle file; read once)."""
        name = issuer['name']
        if name not in self._trust:
            self._trust[name] = _read_pems(issuer['ca_bundle']) if issuer.get('ca_bundle') else []
        return self._trust[name]

    def recorded(self, files):
        """The issuer the store recorded for the set in ``files``, or None."""
        record = files.read_issuer()
        if record is None:
            return None
        named = [issuer for issuer in self.issuers if issuer['name'] == record['issuer']]
        if not record.get('directory'):
            return named[0] if named else None
        at_directory = [issuer for issuer in self.issuers if _directory_of(issuer) == record['directory']]
        # The directory is what issued it: the same name may stand for another CA since.
        for issuer in named + at_directory:
            if issuer in at_directory:
                return issuer
        if named:
            raise AutoTLSError(
                'The store records that %s was issued by %s at %s, but the issuer named %s now uses %s: set that '
                'issuer\'s directory back, or give the issuer at %s another name (its record is then found by '
                'trust or the first issuer is asked)'
                % (files.directory, record['issuer'], record['directory'], record['issuer'], named[0]['directory'],
                   record['directory']))
        return None

    def trusted_by(self, files, cert=None):
        """The issuers (in order) whose trust holds a CA certificate that signed the certificate or its chain."""
        cert = cert if cert is not None else files.read_certificate()
        if cert is None:
            return []
        chain = [cert] + _read_pems(files.path(CHAIN_FILE))
        return [issuer for issuer in self.issuers
                if any(signed_under(member, ca) for ca in self.trust(issuer) for member in chain)]

    def by_trust(self, files, cert=None):
        """The one issuer whose trust signed the certificate; None when none or several do."""
        trusted = self.trusted_by(files, cert)
        return trusted[0] if len(trusted) == 1 else None

    def given(self, files, name):
        """The issuer called ``name``: unknown names, and a name the store's record contradicts, are refused."""
        named = [issuer for issuer in self.issuers if issuer['name'] == name]
        if not named:
            raise ConfigurationError('issuer %r is not one of the issuers: %s. Give the name of the issuer that issued '
                                     '%s.' % (name, ', '.join(i['name'] for i in self.issuers), files.directory))
        try:
            recorded = self.recorded(files)
        except AutoTLSError:      # its recorded name stands for another CA now: the operator settles it
            recorded = None
        if recorded is not None and recorded['name'] != name:
            raise ConfigurationError('issuer %r: the store records that %s was issued by %s. Give issuer %s, or leave '
                                     'issuer out.' % (name, files.directory, recorded['name'], recorded['name']))
        return named[0]

    def find(self, files, cert=None, given=None):
        """``(issuer, how)``: how is ``given``, ``recorded``, ``trust`` or ``first`` (nothing else told).

        ``given`` is an issuer name the operator gave. AmbiguousIssuer when only the trust
        could tell and it holds the signer for several issuers.
        """
        if given:
            return self.given(files, given), GIVEN
        issuer = self.recorded(files)
        if issuer is not None:
            return issuer, RECORDED
        trusted = self.trusted_by(files, cert)
        if len(trusted) == 1:
            return trusted[0], TRUST
        if trusted:
            names = [i['name'] for i in trusted]
            raise AmbiguousIssuer(
                'the store does not record which issuer issued %s, and the CA that signed it is trusted by %d '
                'issuers: %s (directories %s)' % (files.directory, len(names), ', '.join(names),
                                                  ', '.join(str(_directory_of(i) or i['directory']) for i in trusted)),
                names)
        return self.issuers[0], FIRST


def _directory_of(issuer):
    """The resolved directory URL of ``issuer``, or None when it cannot be resolved."""
    try:
        return resolve_directory(issuer['directory'])
    except AutoTLSError:
        return None
