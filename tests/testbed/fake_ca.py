# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-process CA for the unit tests of the issuance orchestration: RFC 8555 objects, no network.

It stands in for the transport only (what a ClientV2 would POST and read back); the
order, authorization and finalization code under test parses its answers with acme's
own messages, exactly as it parses a real CA's. Certificates it issues and the ones a
test puts in the store are real X.509, signed by a throwaway issuer made at run time.
"""

import base64
import datetime
import itertools
import json
import os
import threading
import time
import types

import josepy as jose
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.autotls.acme.plugins.module_utils._acme.ari import ari_cert_id
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeProtocolError

BASE = 'https://ca.test'
UTC = datetime.timezone.utc


def now():
    return datetime.datetime.now(UTC)


class Issuing:
    """A throwaway issuer: signs leaf certificates for any key and names."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Fake Issuing CA')])
        self.pem = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                    .public_key(self.key.public_key()).serial_number(1)
                    .not_valid_before(now() - datetime.timedelta(days=1))
                    .not_valid_after(now() + datetime.timedelta(days=3650))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                    .sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))

    def sign(self, public_key, domains, not_before, not_after):
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
                .issuer_name(self.name).public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(not_before).not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
                .sign(self.key, hashes.SHA256()))
        return cert


def write_store_cert(issuing, dest, name, domains, lifetime_days, left_days, other_key=False):
    """A certificate set in ``dest/name`` that expires ``left_days`` from now; returns the cert."""
    key = ec.generate_private_key(ec.SECP256R1())
    after = now() + datetime.timedelta(days=left_days)
    cert = issuing.sign(key.public_key(), domains, after - datetime.timedelta(days=lifetime_days), after)
    directory = os.path.join(dest, name)
    os.makedirs(directory, exist_ok=True)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    stored_key = ec.generate_private_key(ec.SECP256R1()) if other_key else key
    files = {'cert.pem': cert_pem, 'chain.pem': issuing.pem, 'fullchain.pem': cert_pem + issuing.pem,
             'privkey.pem': stored_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())}
    for filename, data in files.items():
        with open(os.path.join(directory, filename), 'wb') as handle:
            handle.write(data)
    return cert


class Response:
    def __init__(self, body=None, headers=None, text=None, status_code=200):
        self._body = body
        self.headers = headers or {}
        self.text = text if text is not None else json.dumps(body)
        self.status_code = status_code

    def json(self):
        return self._body


def _token():
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')


class FakeCA:
    """Orders, authorizations, challenges and certificates, kept in dicts."""

    def __init__(self):
        self.issuing = Issuing()
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.orders = {}            # url -> dict (JSON of the order, plus private fields)
        self.authzs = {}            # url -> dict
        self.challenges = {}        # url -> (authz url, dict)
        self.certs = {}             # url -> fullchain text
        self.refuse = set()         # domains newOrder refuses
        self.fail_validation = set()   # domains whose challenge the CA finds invalid
        self.ari = {}               # ARI cert id -> (start, end)
        self.ari_asked = []
        self.account_lookups = 0
        self.order_reads = []       # order URLs read back (POST-as-GET)
        self.answered = []          # (domain, deadline the client held, when)
        self.finalized = []         # (order url, when)
        # A CA failing on its side: an exception (AcmeProtocolError, AcmeNetworkError) that every
        # newOrder, or every finalization, raises; and how many of each it was sent.
        self.new_order_error = None
        self.finalize_error = None
        self.new_orders = 0

    def _url(self, kind):
        return '%s/%s/%d' % (BASE, kind, next(self.ids))

    # -- what a ClientV2 would do --------------------------------------
    def post(self, url, obj, net):
        with self.lock:
            if url == BASE + '/new-order':
                self.new_orders += 1
                if self.new_order_error is not None:
                    raise self.new_order_error
                return self._new_order(obj)
            if url in self.challenges:
                return self._answer(url, net)
            for order_url, order in self.orders.items():
                if order['finalize'] == url:
                    if self.finalize_error is not None:
                        raise self.finalize_error
                    return self._finalize(order_url, order, obj)
        raise AssertionError('unexpected POST to %s' % url)

    def post_as_get(self, url):
        with self.lock:
            if url in self.orders:
                self.order_reads.append(url)
                return Response(self._public(self.orders[url]))
            if url in self.authzs:
                return Response(self._public(self.authzs[url]))
            if url in self.certs:
                return Response(text=self.certs[url])
        raise AssertionError('unexpected POST-as-GET of %s' % url)

    @staticmethod
    def _public(doc):
        return {k: v for k, v in doc.items() if not k.startswith('_')}

    def _new_order(self, obj):
        domains = [i.value for i in obj.identifiers]
        refused = [d for d in domains if d in self.refuse]
        if refused:
            raise AcmeProtocolError('The ACME server refused the request to %s/new-order: '
                                    'urn:ietf:params:acme:error:rejectedIdentifier: %s is not allowed'
                                    % (BASE, refused[0]), status=400,
                                    problem={'type': 'urn:ietf:params:acme:error:rejectedIdentifier'})
        order_url = self._url('order')
        authz_urls = []
        for domain in domains:
            authz_url = self._url('authz')
            wildcard = domain.startswith('*.')
            chall = []
            for typ in ('http-01', 'dns-01'):
                if wildcard and typ == 'http-01':
                    continue
                chall_url = self._url('chall')
                chall.append({'type': typ, 'url': chall_url, 'token': _token(), 'status': 'pending'})
                self.challenges[chall_url] = (authz_url, chall[-1])
            self.authzs[authz_url] = {'identifier': {'type': 'dns', 'value': domain[2:] if wildcard else domain},
                                      'status': 'pending', 'wildcard': wildcard, 'challenges': chall,
                                      '_order': order_url, '_domain': domain}
            authz_urls.append(authz_url)
        self.orders[order_url] = {'status': 'pending', 'identifiers': [{'type': 'dns', 'value': d} for d in domains],
                                  'authorizations': authz_urls, 'finalize': order_url + '/finalize',
                                  '_replaces': getattr(obj, 'replaces', None),
                                  '_profile': getattr(obj, 'profile', None)}
        return Response(self._public(self.orders[order_url]), headers={'Location': order_url})

    def _answer(self, url, net):
        authz_url, chall = self.challenges[url]
        authz = self.authzs[authz_url]
        self.answered.append((authz['_domain'], net.deadline, time.monotonic()))
        if authz['_domain'] in self.fail_validation:
            chall['status'] = 'invalid'
            chall['error'] = {'type': 'urn:ietf:params:acme:error:unauthorized',
                              'detail': 'no TXT record found at _acme-challenge.%s' % authz['identifier']['value']}
            authz['status'] = 'invalid'
        else:
            chall['status'] = 'valid'
            authz['status'] = 'valid'
        order = self.orders[authz['_order']]
        if all(self.authzs[a]['status'] == 'valid' for a in order['authorizations']):
            order['status'] = 'ready'
        return Response(chall)

    def _finalize(self, order_url, order, obj):
        assert order['status'] == 'ready', order['status']
        csr = obj.csr
        domains = [i['value'] for i in order['identifiers']]
        names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
        assert sorted(names) == sorted(domains)
        cert = self.issuing.sign(csr.public_key(), domains, now() - datetime.timedelta(minutes=1),
                                 now() + datetime.timedelta(days=90))
        cert_url = self._url('cert')
        self.certs[cert_url] = cert.public_bytes(serialization.Encoding.PEM).decode() + self.issuing.pem.decode()
        order['status'] = 'valid'
        order['certificate'] = cert_url
        self.finalized.append((order_url, time.monotonic()))
        return Response(self._public(order))

    def replaces_of(self, order_url):
        return self.orders[order_url]['_replaces']

    # -- ARI --------------------------------------------------------------
    def ari_answer(self, url):
        cert_id = url.rsplit('/', 1)[1]
        with self.lock:
            self.ari_asked.append(cert_id)
            window = self.ari.get(cert_id)
        if window is None:
            return Response({'type': 'urn:ietf:params:acme:error:malformed'}, status_code=404)
        fmt = '%Y-%m-%dT%H:%M:%SZ'
        return Response({'suggestedWindow': {'start': window[0].strftime(fmt), 'end': window[1].strftime(fmt)}})

    def set_ari_window(self, cert, start, end):
        self.ari[ari_cert_id(cert)] = (start, end)


class FakeClient:
    """The part of acme's ClientV2 the order code uses: signed POSTs and POST-as-GETs."""

    def __init__(self, ca, directory):
        self.ca = ca
        self.directory = directory
        self.net = types.SimpleNamespace(deadline=None, account=None)

    def _post(self, url, obj):
        return self.ca.post(url, obj, self.net)

    def _post_as_get(self, url):
        return self.ca.post_as_get(url)

    def _get_links(self, response, rel):
        return []


class FakeNetwork:
    def __init__(self, ca):
        self.ca = ca
        self.deadline = None

    def fetch(self, url):
        return self.ca.ari_answer(url)


class FakeSession:
    """An AcmeSession's interface over a FakeCA: what one module run would hold."""

    directory_url = BASE + '/directory'

    def __init__(self, ca, ari=True):
        self.ca = ca
        self.jwk = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        self.directory = {'newOrder': BASE + '/new-order'}
        if ari:
            self.directory['renewalInfo'] = BASE + '/renewal-info'
        self.account = None
        self.account_created = False

    def client(self):
        return FakeClient(self.ca, self.directory)

    def network(self, retry_policy=None):
        return FakeNetwork(self.ca)

    def meta(self, field):
        return None

    def ensure_account(self, **options):
        if self.account is not None:        # as AcmeSession: known already, nothing to ask
            return self.account.uri
        self.ca.account_lookups += 1
        self.account = types.SimpleNamespace(uri=BASE + '/account/1')
        return self.account.uri

    def use_account(self, uri):
        self.account = types.SimpleNamespace(uri=uri)

    def close(self):
        pass


class FakeDnsSolver:
    """Publishes nothing; records what it was asked to present and when it was done."""

    challenge_type = 'dns-01'

    def __init__(self):
        self.presented = []
        self.done_at = None
        self.cleaned = False

    def present(self, items):
        self.presented.extend((spec.name, challenge.domain) for spec, challenge in items)
        self.done_at = time.monotonic()
        return {}

    def cleanup(self):
        self.cleaned = True
