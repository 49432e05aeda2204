# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Asking the CA's renewal information (ARI) for a whole run: concurrently, briefly, once per failure.

The ARI endpoint is a small scripted HTTP server (Pebble 2.4 has none) reached through
the real session and transport, so retries, Retry-After and deadlines are the real ones.
"""

import datetime
import http.server
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization
from testbed.fake_ca import now, write_store_cert

from ansible_collections.autotls.acme.plugins.module_utils._acme.ari import ari_cert_id
from ansible_collections.autotls.acme.plugins.module_utils._acme.issuer import CertificateSpec, Issuer
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy
from ansible_collections.autotls.acme.plugins.module_utils._acme.session import AcmeSession

DAY = datetime.timedelta(days=1)


class AriEndpoint(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.windows = {}           # cert id -> (start, end)
        self.answer = None          # (status, headers) for every ARI request, instead of windows
        self.barrier = None         # every request waits here first (proves concurrency)
        self.asked = []
        self.lock = threading.Lock()

    @property
    def base(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        server = self.server
        if self.path == '/dir':
            return self._send(200, {'newNonce': server.base + '/nonce', 'newAccount': server.base + '/account',
                                    'newOrder': server.base + '/order', 'renewalInfo': server.base + '/ari'})
        cert_id = self.path.rsplit('/', 1)[1]
        with server.lock:
            server.asked.append(cert_id)
        if server.barrier is not None:
            try:
                server.barrier.wait()
            except threading.BrokenBarrierError:
                return self._send(500, {'detail': 'asked one at a time'})
        if server.answer is not None:
            status, headers = server.answer
            return self._send(status, {'type': 'urn:ietf:params:acme:error:serverInternal'}, headers)
        window = server.windows.get(cert_id)
        if window is None:
            return self._send(404, {'type': 'urn:ietf:params:acme:error:malformed'})
        fmt = '%Y-%m-%dT%H:%M:%SZ'
        return self._send(200, {'suggestedWindow': {'start': window[0].strftime(fmt),
                                                    'end': window[1].strftime(fmt)}})


@pytest.fixture
def endpoint():
    server = AriEndpoint()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run(endpoint, fake_ca, tmp_path, count=3, workers=3, ari_timeout=20, unknown=0):
    dest = str(tmp_path / 'certs')
    certs = [write_store_cert(fake_ca.issuing, dest, 'c%d' % i, ['c%d.example.test' % i], 90, 80)
             for i in range(count)]
    for cert in certs[unknown:]:
        endpoint.windows[ari_cert_id(cert)] = (now() + 40 * DAY, now() + 41 * DAY)
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    session = AcmeSession(endpoint.base + '/dir', key)
    issuer = Issuer(session, {}, RenewalPolicy(days=30, fraction=0.1), dest, workers=workers,
                    ari_timeout=ari_timeout)
    outcomes = issuer.plan([CertificateSpec('c%d' % i, ['c%d.example.test' % i]) for i in range(count)])
    try:
        issuer.consult_ari(outcomes)
    finally:
        session.close()
    return issuer, outcomes, certs


def test_lookups_run_concurrently(endpoint, fake_ca, tmp_path):
    # Each request waits until all three are in flight: asked one at a time, they fail.
    endpoint.barrier = threading.Barrier(3, timeout=10)
    issuer, outcomes, _certs = _run(endpoint, fake_ca, tmp_path)
    assert issuer.warnings == []
    assert all('ari_renewal_time' in o.facts and not o.due for o in outcomes)


def test_a_failing_endpoint_gets_two_tries_and_is_asked_no_more(endpoint, fake_ca, tmp_path):
    endpoint.answer = (503, {'Retry-After': '0'})
    issuer, outcomes, _certs = _run(endpoint, fake_ca, tmp_path, workers=1)
    assert len(endpoint.asked) == 2
    assert all(not o.due and 'ari_renewal_time' not in o.facts for o in outcomes)
    [warning] = issuer.warnings
    assert endpoint.base + '/dir' in warning and 'days and fraction rules decided for 3 certificates' in warning


def test_no_retry_after_wait_outlives_the_deadline(endpoint, fake_ca, tmp_path):
    endpoint.answer = (503, {'Retry-After': '3600'})
    issuer, _outcomes, _certs = _run(endpoint, fake_ca, tmp_path, workers=1, ari_timeout=20)
    assert len(endpoint.asked) == 1         # the hour-long wait was not started
    assert 'asked to wait' in issuer.warnings[0] and endpoint.base in issuer.warnings[0]


def test_a_rate_limited_endpoint_is_asked_once_and_not_again(endpoint, fake_ca, tmp_path):
    endpoint.answer = (429, {'Retry-After': '1'})
    issuer, _outcomes, _certs = _run(endpoint, fake_ca, tmp_path, workers=1, ari_timeout=20)
    assert len(endpoint.asked) == 1
    assert 'HTTP 429' in issuer.warnings[0] and endpoint.base in issuer.warnings[0]


def test_a_certificate_the_ca_does_not_know_concerns_that_certificate_only(endpoint, fake_ca, tmp_path):
    issuer, outcomes, _certs = _run(endpoint, fake_ca, tmp_path, count=3, workers=1, unknown=1)
    assert issuer.warnings == []
    assert len(endpoint.asked) == 3
    assert 'HTTP 404' in outcomes[0].warnings[0] and 'c0' in outcomes[0].warnings[0]
    assert all('ari_renewal_time' in o.facts for o in outcomes[1:])


def test_the_window_moving_to_now_makes_it_due(endpoint, fake_ca, tmp_path):
    dest = str(tmp_path / 'certs')
    cert = write_store_cert(fake_ca.issuing, dest, 'c0', ['c0.example.test'], 90, 80)
    endpoint.windows[ari_cert_id(cert)] = (now() - 2 * DAY, now() - DAY)
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    session = AcmeSession(endpoint.base + '/dir', key)
    issuer = Issuer(session, {}, RenewalPolicy(days=30, fraction=0.1), dest)
    [outcome] = issuer.plan([CertificateSpec('c0', ['c0.example.test'])])
    issuer.consult_ari([outcome])
    session.close()
    assert outcome.due and outcome.action == 'renew' and 'ARI' in outcome.reason
