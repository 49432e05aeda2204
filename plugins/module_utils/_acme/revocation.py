# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Revoke a certificate (RFC 8555 section 7.6) and check at the CA that it is revoked.

The request is acme's own ``Revocation`` message, sent by ``ClientV2.revoke``, signed
either by the account that ordered the certificate or by the certificate's own key (for
when the account key is lost, or the certificate came from elsewhere).

Afterwards the CA is asked whether it holds the certificate as revoked, the first way it
offers that answers:
  1. OCSP, at the responder the certificate names (Authority Information Access), with
     cryptography's OCSP request and response;
  2. its CRL, at the distribution point the certificate names, verified with the
     issuer's key;
  3. the ACME endpoint itself: a second revocation request, which a CA answers with
     ``alreadyRevoked`` once it holds the certificate as revoked (Pebble and step-ca
     publish neither OCSP nor CRLs; Let's Encrypt publishes CRLs only).
An OCSP responder or CRL that does not list it yet (CRLs are published every few hours)
is reported, and the ACME answer decides.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._acme.network import RetryingClientNetwork
from ansible_collections.autotls.acme.plugins.module_utils._acme.session import USER_AGENT, account_jwk
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeProtocolError,
    AutoTLSError,
    ConfigurationError,
)

try:
    from acme import client as acme_client
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp
    from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    pass

# RFC 5280 section 5.3.1 CRLReason names and codes. removeFromCRL (8) only undoes a hold
# in a delta CRL; it is no reason to revoke.
REASONS = {
    'unspecified': 0,
    'keyCompromise': 1,
    'cACompromise': 2,
    'affiliationChanged': 3,
    'superseded': 4,
    'cessationOfOperation': 5,
    'certificateHold': 6,
    'privilegeWithdrawn': 9,
    'aACompromise': 10,
}
REVOKE_WITH = ('account', 'certificate_key')
ALREADY_REVOKED = 'urn:ietf:params:acme:error:alreadyRevoked'


def reason_code(name, option='reason'):
    """The RFC 5280 code of a reason name; refused early, listing the names."""
    if name not in REASONS:
        raise ConfigurationError('%s %r is not one of RFC 5280\'s revocation reasons: %s (keyCompromise when the '
                                 'key leaked, cessationOfOperation when the certificate is no longer used, '
                                 'superseded when it was replaced)' % (option, name, ', '.join(REASONS)))
    return REASONS[name]


def reason_name(code):
    for name, value in REASONS.items():
        if value == code:
            return name
    return str(code)


def _already_revoked(exc):
    return isinstance(exc, AcmeProtocolError) and exc.problem.get('type') == ALREADY_REVOKED


class Revoker:
    """Revocation requests to one CA, signed by the account or by a certificate's own key."""

    def __init__(self, session, account_options=None):
        self.session = session
        self.account_options = account_options or {}

    def _client(self, key_pem=None):
        if key_pem is None:
            self.session.ensure_account(**self.account_options)
            return self.session.client()
        # No account: the JWS carries the certificate's public key (jwk), as RFC 8555 7.6 allows.
        jwk, alg = account_jwk(key_pem)
        net = RetryingClientNetwork(key=jwk, account=None, alg=alg, verify_ssl=self.session.verify,
                                    user_agent=USER_AGENT, timeout=self.session.request_timeout,
                                    retry_policy=self.session.retry_policy)
        self.session._networks.append(net)  # pylint: disable=protected-access
        return acme_client.ClientV2(self.session.directory, net)

    def revoke(self, cert, reason, key_pem=None):
        """Ask the CA to revoke ``cert``; True when it did now, False when it had already."""
        client = self._client(key_pem)
        try:
            client.revoke(cert, reason_code(reason))
        except AcmeProtocolError as exc:
            if _already_revoked(exc):
                return False
            raise AcmeProtocolError('The CA at %s refused to revoke serial %x: %s' % (
                self.session.directory_url, cert.serial_number, exc), problem=exc.problem, url=exc.url,
                status=exc.status)
        return True

    def confirm(self, cert, reason, key_pem=None):
        """Whether the CA answers a second request with alreadyRevoked (then it holds it as revoked)."""
        client = self._client(key_pem)
        try:
            client.revoke(cert, reason_code(reason))
        except AcmeProtocolError as exc:
            if _already_revoked(exc):
                return True, 'the CA answered a second revocation request with alreadyRevoked'
            return None, 'the CA answered a second revocation request with %s' % exc
        return False, 'the CA accepted a second revocation request: it had not recorded the first'


def _urls(cert, oid_class, oid):
    try:
        ext = cert.extensions.get_extension_for_oid(oid_class).value
    except x509.ExtensionNotFound:
        return []
    if oid_class == ExtensionOID.AUTHORITY_INFORMATION_ACCESS:
        return [d.access_location.value for d in ext if d.access_method == oid
                and isinstance(d.access_location, x509.UniformResourceIdentifier)]
    urls = []
    for point in ext:
        for name in point.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier):
                urls.append(name.value)
    return urls


def ocsp_urls(cert):
    return _urls(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS, AuthorityInformationAccessOID.OCSP)


def crl_urls(cert):
    return _urls(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS, None)


def ocsp_status(http, url, cert, issuer):
    """(revoked: bool or None, detail) from the OCSP responder at ``url``."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # nosec - RFC 6960 CertID
    response = http.post(url, data=request.public_bytes(serialization.Encoding.DER),
                         headers={'Content-Type': 'application/ocsp-request'})
    if response.status_code != 200:
        return None, 'OCSP responder %s answered HTTP %s' % (url, response.status_code)
    answer = ocsp.load_der_ocsp_response(response.content)
    if answer.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return None, 'OCSP responder %s answered %s' % (url, answer.response_status.name)
    if answer.serial_number != cert.serial_number:
        return None, 'OCSP responder %s answered for another serial' % url
    if answer.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        reason = answer.revocation_reason.name if answer.revocation_reason is not None else 'no reason'
        return True, 'OCSP responder %s: revoked (%s) at %s' % (
            url, reason, answer.revocation_time_utc.strftime('%Y-%m-%d %H:%M:%S UTC'))
    return False, 'OCSP responder %s: %s' % (url, answer.certificate_status.name.lower())


def crl_status(http, url, cert, issuer):
    """(revoked: bool or None, detail) from the CRL at ``url``, its signature checked with the issuer's key."""
    response = http.get(url)
    if response.status_code != 200:
        return None, 'CRL %s answered HTTP %s' % (url, response.status_code)
    data = response.content
    crl = x509.load_pem_x509_crl(data) if data.lstrip().startswith(b'-----') else x509.load_der_x509_crl(data)
    if issuer is not None and not crl.is_signature_valid(issuer.public_key()):
        return None, 'CRL %s is not signed by the certificate\'s issuer' % url
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        return False, 'CRL %s (published %s) does not list it yet' % (
            url, crl.last_update_utc.strftime('%Y-%m-%d %H:%M UTC'))
    return True, 'CRL %s lists it since %s' % (url, entry.revocation_date_utc.strftime('%Y-%m-%d %H:%M:%S UTC'))


def check_revoked(revoker, http, cert, issuer, reason, key_pem=None):
    """Ask the CA whether ``cert`` is revoked: OCSP, then its CRL, then the ACME endpoint.

    Returns ``{'revoked': bool or None, 'method': 'ocsp'|'crl'|'acme', 'detail': str,
    'tried': [details of the ways that did not decide]}``; ``method`` None when the CA could
    not be asked at all (never raised: the certificate is revoked whatever the check learns).
    """
    tried = []
    for method, urls, ask in (('ocsp', ocsp_urls(cert), ocsp_status), ('crl', crl_urls(cert), crl_status)):
        for url in urls:
            if issuer is None and method == 'ocsp':
                tried.append('OCSP responder %s: no issuer certificate to ask about' % url)
                continue
            try:
                revoked, detail = ask(http, url, cert, issuer)
            except (AutoTLSError, ValueError, OSError) as exc:
                revoked, detail = None, '%s %s: %s' % (method.upper(), url, exc)
            except Exception as exc:  # pylint: disable=broad-except
                # requests' own errors: a responder down must not hide the other ways.
                revoked, detail = None, '%s %s: %s: %s' % (method.upper(), url, type(exc).__name__, exc)
            if revoked:
                return dict(revoked=True, method=method, detail=detail, tried=tried)
            tried.append(detail)
    try:
        revoked, detail = revoker.confirm(cert, reason, key_pem)
    except Exception as exc:  # pylint: disable=broad-except
        # The CA stopped answering after it revoked: the revocation stands, the check says so.
        return dict(revoked=None, method=None, tried=tried,
                    detail='the CA could not be asked afterwards (%s: %s)' % (type(exc).__name__, exc))
    return dict(revoked=revoked, method='acme', detail=detail, tried=tried)
