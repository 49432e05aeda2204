# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Revocation: reasons, the request's signer, and asking the CA (OCSP, CRL, ACME) whether it is revoked."""

import datetime
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from ansible_collections.autotls.acme.plugins.module_utils._acme import revocation
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeProtocolError, ConfigurationError

UTC = datetime.timezone.utc
NOW = datetime.datetime.now(UTC).replace(microsecond=0)
OCSP_URL = 'http://ocsp.ca.test'
CRL_URL = 'http://crl.ca.test/1.crl'


class _Ca:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Test Issuing CA')])
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(1)
                     .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=9))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))

    def leaf(self, ocsp_url=None, crl_url=None):
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'app1.example.test')]))
                   .issuer_name(self.name).public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - datetime.timedelta(hours=1)).not_valid_after(NOW + datetime.timedelta(days=6)))
        if ocsp_url:
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
        if crl_url:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def ocsp_answer(self, cert, revoked):
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.cert, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=NOW, next_update=NOW + datetime.timedelta(hours=1),
            revocation_time=NOW if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, self.cert)
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def crl(self, serials, key=None):
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.name)
                   .last_update(NOW).next_update(NOW + datetime.timedelta(hours=6)))
        for serial in serials:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW).build())
        return builder.sign(key or self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class _Http:
    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def _answer(self, url):
        self.asked.append(url)
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        return types.SimpleNamespace(status_code=200, content=answer)

    def get(self, url):
        return self._answer(url)

    def post(self, url, data=None, headers=None):
        assert headers == {'Content-Type': 'application/ocsp-request'}
        ocsp.load_der_ocsp_request(data)
        return self._answer(url)


class _Revoker:
    def __init__(self, already=True):
        self.already = already
        self.confirmed = 0

    def confirm(self, cert, reason, key_pem=None):
        self.confirmed += 1
        return (True, 'the CA answered a second revocation request with alreadyRevoked') if self.already else \
            (False, 'the CA accepted a second revocation request: it had not recorded the first')


def test_reasons_are_rfc_5280_names():
    assert revocation.reason_code('keyCompromise') == 1
    assert revocation.reason_code('cessationOfOperation') == 5
    assert revocation.reason_name(4) == 'superseded'
    with pytest.raises(ConfigurationError, match="reason 'compromised' is not one of RFC 5280's revocation reasons: "
                                                 "unspecified, keyCompromise"):
        revocation.reason_code('compromised')
    with pytest.raises(ConfigurationError):
        revocation.reason_code('removeFromCRL')      # only undoes a hold, in a delta CRL


def test_ocsp_answers_first():
    ca = _Ca()
    cert = ca.leaf(OCSP_URL, CRL_URL)
    http = _Http({OCSP_URL: ca.ocsp_answer(cert, revoked=True)})
    revoker = _Revoker()
    found = revocation.check_revoked(revoker, http, cert, ca.cert, 'keyCompromise')
    assert found['revoked'] is True and found['method'] == 'ocsp' and 'revoked (key_compromise)' in found['detail']
    assert http.asked == [OCSP_URL] and revoker.confirmed == 0


def test_a_crl_that_lists_it_decides_when_ocsp_says_good_still():
    ca = _Ca()
    cert = ca.leaf(OCSP_URL, CRL_URL)
    http = _Http({OCSP_URL: ca.ocsp_answer(cert, revoked=False), CRL_URL: ca.crl([5, cert.serial_number])})
    found = revocation.check_revoked(_Revoker(), http, cert, ca.cert, 'keyCompromise')
    assert found['method'] == 'crl' and found['revoked'] is True
    assert found['tried'] == ['OCSP responder %s: good' % OCSP_URL]


def test_a_crl_not_listing_it_yet_or_signed_by_another_key_leaves_it_to_the_acme_answer():
    ca = _Ca()
    cert = ca.leaf(crl_url=CRL_URL)
    revoker = _Revoker()
    found = revocation.check_revoked(revoker, _Http({CRL_URL: ca.crl([5])}), cert, ca.cert, 'superseded')
    assert found['method'] == 'acme' and found['revoked'] is True and revoker.confirmed == 1
    assert 'does not list it yet' in found['tried'][0]
    forged = ca.crl([cert.serial_number], key=ec.generate_private_key(ec.SECP256R1()))
    found = revocation.check_revoked(revoker, _Http({CRL_URL: forged}), cert, ca.cert, 'superseded')
    assert found['method'] == 'acme' and "is not signed by the certificate's issuer" in found['tried'][0]


def test_a_responder_that_is_down_does_not_hide_the_acme_answer():
    ca = _Ca()
    cert = ca.leaf(OCSP_URL)
    found = revocation.check_revoked(_Revoker(already=False), _Http({OCSP_URL: OSError('connection refused')}),
                                     cert, ca.cert, 'keyCompromise')
    assert found['revoked'] is False and found['method'] == 'acme'
    assert found['tried'] == ['OCSP %s: connection refused' % OCSP_URL]


def test_the_certificate_key_signs_without_an_account():
    """revoke_with: certificate_key - the JWS carries the certificate key's JWK and no account URL."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    session = types.SimpleNamespace(verify=True, request_timeout=5, retry_policy=None, _networks=[],
                                    directory={'revokeCert': 'https://ca.test/revoke'},
                                    ensure_account=lambda **kw: pytest.fail('no account for certificate_key'))
    client = revocation.Revoker(session)._client(pem)
    assert client.net.account is None
    assert client.net.key.public_key().key.public_numbers() == key.public_key().public_numbers()


def test_already_revoked_is_no_failure():
    cert = _Ca().leaf()

    class Client:
        def __init__(self, error):
            self.error = error

        def revoke(self, cert, code):
            raise self.error

    revoker = revocation.Revoker(types.SimpleNamespace(directory_url='https://ca.test/dir'))
    revoker._client = lambda key_pem=None: Client(AcmeProtocolError(
        'already', problem={'type': revocation.ALREADY_REVOKED}))
    assert revoker.revoke(cert, 'keyCompromise') is False
    assert revoker.confirm(cert, 'keyCompromise')[0] is True
    revoker._client = lambda key_pem=None: Client(AcmeProtocolError(
        'unauthorized', problem={'type': 'urn:ietf:params:acme:error:unauthorized'}, status=403))
    with pytest.raises(AcmeProtocolError, match='refused to revoke serial'):
        revoker.revoke(cert, 'keyCompromise')
