# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retry behaviour of the ACME transport against a small scripted HTTP server.

Pebble covers badNonce under load in the integration tests; this server covers what
Pebble never does: 429 and 503 answers with Retry-After, and a budget that runs out.
"""

import http.server
import json
import threading
import time

import josepy as jose
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.autotls.acme.plugins.module_utils._acme.network import (
    RetryingClientNetwork,
    RetryPolicy,
    parse_retry_after,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeNetworkError, AcmeProtocolError


class ScriptedAcme(http.server.ThreadingHTTPServer):
    """Answers POSTs from a script of (status, problem type or None, headers)."""

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.script = []
        self.posts = []
        self.nonce = 0

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _nonce(self):
        self.server.nonce += 1
        return 'nonce%d' % self.server.nonce

    def do_HEAD(self):
        self.send_response(200)
        self.send_header('Replay-Nonce', self._nonce())
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.posts.append((time.monotonic(), json.loads(body)))
        status, problem, headers = self.server.script.pop(0) if self.server.script else (200, None, {})
        payload = json.dumps({'type': 'urn:ietf:params:acme:error:' + problem, 'detail': 'scripted'}
                             if problem else {'status': 'valid'}).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/problem+json' if problem else 'application/json')
        self.send_header('Replay-Nonce', self._nonce())
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    srv = ScriptedAcme()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _net(policy=None):
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    return RetryingClientNetwork(key=key, alg=jose.ES256, retry_policy=policy or RetryPolicy(backoff=0.01))


def _post(net, server):
    return net.post(server.url + '/order', jose.JSONObjectWithFields(), new_nonce_url=server.url + '/nonce')


def test_bad_nonces_are_retried_with_the_nonce_from_the_error(server):
    server.script = [(400, 'badNonce', {})] * 5
    response = _post(_net(), server)
    assert response.json() == {'status': 'valid'}
    assert len(server.posts) == 6
    # One HEAD for the first nonce only: every retry used the nonce the error carried.
    assert server.nonce == 7


def test_a_rate_limit_is_never_retried_and_carries_its_retry_after(server):
    server.script = [(429, 'rateLimited', {'Retry-After': '120'})]
    with pytest.raises(AcmeProtocolError) as err:
        _post(_net(), server)
    assert len(server.posts) == 1
    assert err.value.problem['type'].endswith(':rateLimited') and err.value.status == 429
    assert err.value.details['retry_after'] == 120.0


def test_a_bare_429_is_not_retried_either(server):
    server.script = [(429, None, {})]
    with pytest.raises(AcmeProtocolError) as err:
        _post(_net(), server)
    assert len(server.posts) == 1 and err.value.status == 429


def test_a_server_error_waits_as_long_as_retry_after_says(server):
    server.script = [(503, 'serverInternal', {'Retry-After': '1'})]
    _post(_net(), server)
    first, second = (when for when, _body in server.posts)
    assert second - first >= 0.9


def test_retry_after_is_capped(server):
    server.script = [(503, 'serverInternal', {'Retry-After': '3600'})]
    started = time.monotonic()
    _post(_net(RetryPolicy(backoff=0.01, retry_after_cap=0.2)), server)
    assert time.monotonic() - started < 5


def test_the_budget_runs_out_with_a_message_naming_url_and_problem(server):
    server.script = [(400, 'badNonce', {})] * 10
    with pytest.raises(AcmeProtocolError) as err:
        _post(_net(RetryPolicy(attempts=3, bad_nonce_attempts=3, backoff=0.01)), server)
    assert '/order' in str(err.value) and 'badNonce' in str(err.value)
    assert err.value.problem['type'].endswith(':badNonce')
    assert len(server.posts) == 3


def test_no_request_outlives_the_operation_deadline(server):
    from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
    from ansible_collections.autotls.acme.plugins.module_utils._common.errors import DeadlineExceeded
    server.script = [(503, 'serverInternal', {'Retry-After': '30'})] * 5
    net = _net(RetryPolicy(backoff=0.01, retry_after_cap=60))
    net.deadline = Deadline(0.5)
    with pytest.raises(DeadlineExceeded) as err:
        _post(net, server)
    assert '/order' in str(err.value)
    assert len(server.posts) == 1


def test_errors_that_are_not_transient_are_not_retried(server):
    server.script = [(403, 'unauthorized', {})]
    with pytest.raises(AcmeProtocolError) as err:
        _post(_net(), server)
    assert 'unauthorized' in str(err.value) and err.value.status == 403
    assert len(server.posts) == 1


def test_retry_after_parsing():
    assert parse_retry_after('7') == 7.0
    assert parse_retry_after(None) is None
    assert 9 < parse_retry_after('Wed, 21 Oct 2015 07:28:10 GMT', now=1445412480.0) < 11


def test_the_proxy_environment_still_applies_and_is_read_once_per_origin(monkeypatch):
    for name in ('https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example.test:3128')
    monkeypatch.setenv('NO_PROXY', 'ca.internal.test')
    session = _net().session

    def proxies(url):
        return session.merge_environment_settings(url, {}, None, True, None)['proxies'].get('https')

    assert proxies('https://acme.example.test/directory') == 'http://proxy.example.test:3128'
    assert proxies('https://ca.internal.test/directory') is None
    # Read once per origin: the run's environment is fixed; a second origin reads it anew.
    monkeypatch.setenv('HTTPS_PROXY', 'http://other.example.test:8080')
    assert proxies('https://acme.example.test/new-order') == 'http://proxy.example.test:3128'
    assert proxies('https://ari.example.test/renewalInfo') == 'http://other.example.test:8080'
    # A caller's own proxies still win, per request.
    given = session.merge_environment_settings('https://acme.example.test/x', {'https': 'http://mine:1'},
                                               None, True, None)
    assert given['proxies']['https'] == 'http://mine:1'


def test_the_ca_bundle_variable_still_applies(monkeypatch, tmp_path):
    bundle = tmp_path / 'bundle.pem'
    bundle.write_text('')
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(bundle))
    session = _net().session
    assert session.merge_environment_settings('https://acme.example.test/', {}, None, True, None)['verify'] \
        == str(bundle)
    # An explicit bundle (acme_ca_bundle) is not overridden by the environment.
    assert session.merge_environment_settings('https://acme.example.test/', {}, None, '/etc/ca.pem', None)['verify'] \
        == '/etc/ca.pem'


class Silent:
    """A TCP listener that accepts and then closes every connection at once, or holds it unanswered."""

    def __init__(self, hang=False):
        import socket
        self.hang = hang
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.sock.getsockname()[1]

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.hang:
                self.held.append(conn)
            else:
                conn.close()

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def _closed_port():
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_a_refused_connection_is_tried_three_times_then_the_ca_is_down_for_every_request():
    from ansible_collections.autotls.acme.plugins.module_utils._acme.network import CaUnreachable, Reachability
    shared = Reachability()
    url = 'http://127.0.0.1:%d/dir' % _closed_port()
    first = RetryingClientNetwork(key=jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1())), alg=jose.ES256,
                                  retry_policy=RetryPolicy(backoff=0.01), reachability=shared)
    with pytest.raises(CaUnreachable) as err:
        first.fetch(url)
    assert '(3 attempts)' in str(err.value) and url in str(err.value)
    assert shared.error is err.value
    # Another worker's transport to the same CA: refused at once, with the first error.
    other = RetryingClientNetwork(key=jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1())), alg=jose.ES256,
                                  retry_policy=RetryPolicy(backoff=0.01), reachability=shared)
    with pytest.raises(CaUnreachable) as again:
        other.post(url.replace('/dir', '/order'), jose.JSONObjectWithFields(), new_nonce_url=url)
    assert str(again.value) == str(err.value)


def test_a_ca_that_closes_every_connection_gets_three_attempts_per_request_and_no_more():
    silent = Silent()
    try:
        net = _net(RetryPolicy(backoff=0.01))
        with pytest.raises(AcmeNetworkError):
            _post(net, silent)
        assert silent.accepted == 3             # the nonce request's three, then nothing
        with pytest.raises(AcmeNetworkError):
            net.fetch(silent.url + '/dir')
        assert silent.accepted == 3
    finally:
        silent.close()


def test_a_ca_that_never_answers_costs_three_request_timeouts_not_the_whole_budget():
    silent = Silent(hang=True)
    try:
        key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = RetryingClientNetwork(key=key, alg=jose.ES256, timeout=0.3, retry_policy=RetryPolicy(backoff=0.01))
        with pytest.raises(AcmeNetworkError) as err:
            net.fetch(silent.url + '/dir')
        assert silent.accepted == 3 and 'timed out' in str(err.value).lower()
        with pytest.raises(AcmeNetworkError):
            net.fetch(silent.url + '/dir')
        assert silent.accepted == 3
    finally:
        silent.close()


def test_a_post_that_cannot_connect_is_retried_three_times_and_marks_the_ca_down(server):
    # The nonce comes from a live server; the POST goes to a port where nothing listens.
    net = _net(RetryPolicy(backoff=0.01))
    url = 'http://127.0.0.1:%d/order' % _closed_port()
    with pytest.raises(AcmeNetworkError) as err:
        net.post(url, jose.JSONObjectWithFields(), new_nonce_url=server.url + '/nonce')
    assert '(3 attempts)' in str(err.value)
    assert net.reachability.error is not None
    assert server.nonce == 3                   # one fresh nonce per attempt, none after


def test_a_session_reads_the_directory_of_a_ca_that_is_down_once():
    from ansible_collections.autotls.acme.plugins.module_utils._acme.session import AcmeSession
    from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import (
        generate_private_key,
        private_key_to_pem,
    )
    silent = Silent()
    try:
        session = AcmeSession(silent.url + '/dir', private_key_to_pem(generate_private_key('ec256')),
                              retry_policy=RetryPolicy(backoff=0.01))
        for _attempt in range(3):               # the ARI check, the account, each worker's client
            with pytest.raises(AcmeProtocolError) as err:
                session.meta('terms_of_service')
            assert 'Could not read the ACME directory at %s/dir' % silent.url in str(err.value)
        assert silent.accepted == 3
        session.close()
    finally:
        silent.close()


def test_a_post_sent_but_not_answered_in_time_never_marks_the_ca_down(server):
    # The nonce comes from a live server; the POST reaches a listener that never answers it:
    # the CA may have processed it (a finalization), so it is not taken as unreachable.
    silent = Silent(hang=True)
    try:
        key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = RetryingClientNetwork(key=key, alg=jose.ES256, timeout=0.3,
                                    retry_policy=RetryPolicy(attempts=4, backoff=0.01))
        with pytest.raises(AcmeNetworkError) as err:
            net.post(silent.url + '/finalize', jose.JSONObjectWithFields(), new_nonce_url=server.url + '/nonce')
        assert 'may have been processed' in str(err.value) and err.value.down is False, err.value
        assert silent.accepted == 4             # retried within the budget
        assert net.reachability.error is None   # the CA is not down for the run's other requests
    finally:
        silent.close()
