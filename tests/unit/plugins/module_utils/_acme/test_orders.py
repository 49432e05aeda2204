# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One order from account to downloaded chain, against a small scripted ACME server.

The finalize step is where the versions of certbot's ``acme`` and ``josepy`` must agree
(the CSR is a cryptography object that josepy has to encode): this test is what the
declared-minimums check (tests/versions/test_declared_minimums.py) relies on to catch a
pair that cannot finalize.
"""

import base64
import http.server
import json
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.autotls.acme.plugins.module_utils._acme.orders import Order
from ansible_collections.autotls.acme.plugins.module_utils._acme.session import AcmeSession
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import generate_private_key, make_csr
from testbed.tls import Pki


def _b64decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


class ScriptedCa(http.server.ThreadingHTTPServer):
    """A CA whose authorizations are already valid: account, order, finalize, download."""

    def __init__(self, chain_pem):
        super().__init__(('127.0.0.1', 0), Handler)
        self.chain_pem = chain_pem
        self.nonce = 0
        self.csr_der = None
        self.lock = threading.Lock()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _nonce(self):
        with self.server.lock:
            self.server.nonce += 1
            return 'nonce%d' % self.server.nonce

    def _send(self, status, payload, content_type='application/json', headers=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Replay-Nonce', self._nonce())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header('Replay-Nonce', self._nonce())
        self.end_headers()

    def do_GET(self):
        base = self.server.url
        self._send(200, {'newNonce': base + '/nonce', 'newAccount': base + '/acct',
                         'newOrder': base + '/order', 'meta': {}})

    def do_POST(self):
        jws = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        payload = json.loads(_b64decode(jws['payload'])) if jws['payload'] else None
        base = self.server.url
        order = {'status': 'ready', 'identifiers': [{'type': 'dns', 'value': 'app1.example.test'}],
                 'authorizations': [base + '/authz/1'], 'finalize': base + '/finalize/1'}
        if self.path == '/acct':
            self._send(201, {'status': 'valid'}, headers={'Location': base + '/acct/1'})
        elif self.path == '/order':
            self._send(201, order, headers={'Location': base + '/order/1'})
        elif self.path == '/authz/1':
            self._send(200, {'status': 'valid', 'identifier': {'type': 'dns', 'value': 'app1.example.test'},
                             'challenges': []})
        elif self.path == '/finalize/1':
            self.server.csr_der = _b64decode(payload['csr'])
            self._send(200, dict(order, status='valid', certificate=base + '/cert/1'))
        elif self.path == '/cert/1':
            self._send(200, self.server.chain_pem, content_type='application/pem-certificate-chain')
        else:
            self._send(404, {'type': 'urn:ietf:params:acme:error:malformed', 'detail': self.path},
                       content_type='application/problem+json')


@pytest.fixture
def ca():
    pki = Pki()
    srv = ScriptedCa(pki.fullchain(pki.leaf(('app1.example.test',))))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_an_order_is_finalized_with_the_csr_and_the_chain_is_downloaded(ca):
    account_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    session = AcmeSession(ca.url + '/dir', account_key)
    try:
        session.ensure_account(terms_agreed=True)
        order = Order(session, 'app1', ['app1.example.test'], 'http-01', Deadline(30))
        assert order.create() == []            # the authorization is already valid
        key = generate_private_key('ec256')
        fullchain = order.finalize(make_csr(key, ['app1.example.test']))
    finally:
        session.close()

    csr = x509.load_der_x509_csr(ca.csr_der)
    assert csr.is_signature_valid
    names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ['app1.example.test']
    assert fullchain.encode() == ca.chain_pem
