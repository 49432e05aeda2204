# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ca_roots against a small real HTTPS server that answers like step-ca 0.19 does.

The server's TLS certificate is signed by root A; root B is a second root it can also
serve (a CA with two roots, or an impostor's root). Its answers follow step-ca's
handlers: GET /root/<sha> -> {"ca": PEM} or 404, /roots.pem -> PEM bundle,
/roots -> 201 {"crts": [...]}.
"""

import hashlib
import http.server
import json
import os
import ssl
import stat
import threading
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.autotls.acme.plugins.module_utils._x509 import ca_roots
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeNetworkError, ConfigurationError
from testbed.tls import cert_pem, make_ca, write_server_tls


def _fingerprint(pem):
    cert = x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.encode())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        state = self.server.state
        state['requests'].append(self.path)
        roots = state['roots']            # PEM strings in served order
        if self.path.startswith('/root/'):
            sha = self.path[len('/root/'):].lower().replace('-', '')
            if state.get('tamper'):       # answers any fingerprint with another root
                return self._send(200, json.dumps({'ca': state['tamper']}), 'application/json')
            for pem in roots:
                if _fingerprint(pem) == sha:
                    return self._send(200, json.dumps({'ca': pem}), 'application/json')
            return self._send(404, json.dumps({'status': 404, 'message': 'Not Found'}), 'application/json')
        if self.path == '/roots.pem' and not state.get('no_roots_pem'):
            return self._send(200, ''.join(roots), 'application/x-pem-file')
        if self.path == '/roots':
            return self._send(201, json.dumps({'crts': roots}), 'application/json')
        if self.path == '/health':
            return self._send(200, '{"status":"ok"}', 'application/json')
        return self._send(404, '{"status":404,"message":"Not Found"}', 'application/json')


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp('ca-roots'))
    tls = write_server_tls(directory)
    with open(tls.ca_cert) as f:
        root_a = f.read()
    other_cert = make_ca('another root')[0]
    root_b = cert_pem(other_cert).decode()
    return dict(tls=tls, a=root_a, b=root_b, fp_a=_fingerprint(root_a), fp_b=_fingerprint(root_b))


@pytest.fixture(scope='module')
def _server(pki):
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki['tls'].cert, pki['tls'].key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.state = {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server(_server, pki):
    """The HTTPS server, reset to serving roots A and B; `.url` is its base URL."""
    _server.state.clear()
    _server.state.update(roots=[pki['a'], pki['b']], requests=[])
    _server.url = 'https://127.0.0.1:%d' % _server.server_address[1]
    return _server


# ---- fingerprints and URLs --------------------------------------------------------------

@pytest.mark.parametrize('written', [
    'AB' * 32,
    ':'.join(['AB'] * 32),
    ' ' + ':'.join(['ab'] * 32) + '\n',
    'sha256:' + 'ab' * 32,
    'SHA256 Fingerprint=' + ':'.join(['AB'] * 32),
    '-'.join(['ab'] * 32),
])
def test_fingerprint_is_normalized_to_lowercase_hex(written):
    assert ca_roots.normalize_fingerprint(written) == 'ab' * 32


@pytest.mark.parametrize('bad, words', [
    ('', 'required'),
    (None, 'required'),
    ('ab' * 31, '64 hex digits'),
    ('zz' * 32, '64 hex digits'),
    (':'.join(['ab'] * 20), 'SHA-1'),
])
def test_bad_fingerprints_are_refused_with_a_hint(bad, words):
    with pytest.raises(ConfigurationError) as caught:
        ca_roots.normalize_fingerprint(bad)
    assert words in str(caught.value)


def test_base_url_accepts_the_acme_directory_url_and_refuses_plain_http():
    assert ca_roots.base_url('https://ca.internal:9443/') == 'https://ca.internal:9443'
    assert ca_roots.base_url('https://ca.internal:9443/acme/acme/directory') == 'https://ca.internal:9443'
    assert ca_roots.base_url('https://ca.internal/step/acme/x/directory') == 'https://ca.internal/step'
    with pytest.raises(ConfigurationError, match='https://'):
        ca_roots.base_url('http://ca.internal:9443')


# ---- parsing step-ca's answers -----------------------------------------------------------

def test_parse_step_ca_root_json_roots_json_and_pem_bundle(pki):
    one = ca_roots.parse_root_response(json.dumps({'ca': pki['a']}), 'test')
    assert [ca_roots.fingerprint_of(c) for c in one] == [pki['fp_a']]
    both = ca_roots.parse_root_response(json.dumps({'crts': [pki['a'], pki['b']]}), 'test')
    assert [ca_roots.fingerprint_of(c) for c in both] == [pki['fp_a'], pki['fp_b']]
    bundle = ca_roots.parse_root_response(pki['b'] + pki['a'], 'test')
    assert [ca_roots.fingerprint_of(c) for c in bundle] == [pki['fp_b'], pki['fp_a']]


@pytest.mark.parametrize('body', ['', '{"ca": 3}', '{"status": 404}', '<html>proxy login</html>', '{broken'])
def test_answers_without_a_certificate_are_reported(body):
    with pytest.raises(ca_roots.CAResponseError, match='GET https://x/root/1'):
        ca_roots.parse_root_response(body, 'GET https://x/root/1')


# ---- against the server -----------------------------------------------------------------

def test_root_by_fingerprint_is_fetched_unverified_without_warnings_then_endpoint_verified(server, pki):
    client = ca_roots.CARootsClient(server.url, ':'.join(pki['fp_a'][i:i + 2].upper() for i in range(0, 64, 2)))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        root = client.fetch('root')
        verified, error = client.verify_endpoint(root, '/root/' + pki['fp_a'])
    assert root.fingerprint == pki['fp_a'] and root.ignored == 0
    assert root.source_url == server.url + '/root/' + pki['fp_a']
    assert (verified, error) == (True, None)
    assert not [w for w in seen if 'Unverified HTTPS' in str(w.message)]
    assert server.state['requests'] == ['/root/' + pki['fp_a']] * 2


def test_unknown_fingerprint_names_expected_and_served_fingerprints(server, pki):
    wrong = '00' * 32
    with pytest.raises(ca_roots.RootFingerprintMismatch) as caught:
        ca_roots.CARootsClient(server.url, wrong).fetch('root')
    message = str(caught.value)
    assert wrong in message and pki['fp_a'] in message and pki['fp_b'] in message
    assert 'answered 404' in message and 'Nothing was trusted or written' in message
    assert caught.value.details == {'expected_fingerprint': wrong,
                                    'actual_fingerprints': [pki['fp_a'], pki['fp_b']]}


def test_a_server_answering_with_another_root_is_refused(server, pki):
    server.state['tamper'] = pki['b']
    with pytest.raises(ca_roots.RootFingerprintMismatch) as caught:
        ca_roots.CARootsClient(server.url, pki['fp_a']).fetch('root')
    message = str(caught.value)
    assert 'expected SHA-256 fingerprint %s, but the CA sent %s' % (pki['fp_a'], pki['fp_b']) in message
    assert caught.value.details['actual_fingerprints'] == [pki['fp_b']]


def test_roots_mode_picks_the_matching_root_and_counts_the_rest(server, pki):
    root = ca_roots.CARootsClient(server.url, pki['fp_b']).fetch('roots')
    assert root.fingerprint == pki['fp_b'] and root.ignored == 1
    assert root.source_url == server.url + '/roots.pem'


def test_roots_mode_falls_back_to_the_json_roots_endpoint(server, pki):
    server.state['no_roots_pem'] = True
    root = ca_roots.CARootsClient(server.url, pki['fp_a']).fetch('roots')
    assert root.fingerprint == pki['fp_a'] and root.source_url == server.url + '/roots'
    assert server.state['requests'] == ['/roots.pem', '/roots']


def test_roots_mode_without_the_root_is_refused(server, pki):
    server.state['roots'] = [pki['b']]
    with pytest.raises(ca_roots.RootFingerprintMismatch, match=pki['fp_b']):
        ca_roots.CARootsClient(server.url, pki['fp_a']).fetch('roots')


def test_endpoint_not_signed_under_the_root_is_reported_not_verified(server, pki):
    client = ca_roots.CARootsClient(server.url, pki['fp_b'])
    root = client.fetch('root')
    verified, error = client.verify_endpoint(root, '/health')
    assert verified is False and 'TLS verification' in error


def test_unreachable_ca_is_a_network_error():
    client = ca_roots.CARootsClient('https://127.0.0.1:1', 'ab' * 32, timeout=2, attempts=2)
    with pytest.raises(AcmeNetworkError, match='after 2 attempts'):
        client.fetch('root')


# ---- writing the file -------------------------------------------------------------------

def test_bootstrap_writes_once_and_check_mode_writes_nothing(server, pki, tmp_path):
    dest = str(tmp_path / 'root.pem')
    checked = ca_roots.bootstrap(server.url + '/acme/acme/directory', pki['fp_a'], dest=dest, check_mode=True)
    assert checked['changed'] is True and not os.path.exists(dest)

    first = ca_roots.bootstrap(server.url, pki['fp_a'], dest=dest)
    assert first['changed'] is True and first['endpoint_verified'] is True
    assert first['fingerprint'] == pki['fp_a'] and first['subject'] == 'CN=autotls testbed CA'
    assert _fingerprint(open(dest, 'rb').read()) == pki['fp_a']
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o644

    again = ca_roots.bootstrap(server.url, pki['fp_a'], dest=dest)
    assert again['changed'] is False

    os.chmod(dest, 0o600)
    assert ca_roots.bootstrap(server.url, pki['fp_a'], dest=dest)['changed'] is True
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o644


def test_mismatch_leaves_dest_alone(server, pki, tmp_path):
    dest = tmp_path / 'root.pem'
    dest.write_text('previous\n')
    with pytest.raises(ca_roots.RootFingerprintMismatch):
        ca_roots.bootstrap(server.url, '11' * 32, dest=str(dest))
    assert dest.read_text() == 'previous\n'


def test_dest_must_be_a_file_in_an_existing_directory(tmp_path, pki):
    with pytest.raises(ConfigurationError, match='is a directory'):
        ca_roots.install_root(str(tmp_path), pki['a'])
    with pytest.raises(ConfigurationError, match='does not exist'):
        ca_roots.install_root(str(tmp_path / 'missing' / 'root.pem'), pki['a'])


def test_a_ca_that_cannot_be_reached_is_trusted_by_the_root_kept_in_dest(server, pki, tmp_path):
    dest = str(tmp_path / 'root.pem')
    ca_roots.bootstrap(server.url, pki['fp_a'], dest=dest)
    before = open(dest, 'rb').read()
    down = 'https://127.0.0.1:1/acme/acme/directory'
    kept = ca_roots.bootstrap(down, pki['fp_a'], dest=dest, timeout=2)
    assert kept['ca_unreachable'] is True and kept['changed'] is False and kept['endpoint_verified'] is False
    assert kept['fingerprint'] == pki['fp_a'] and kept['source_url'] == dest
    assert 'https://127.0.0.1:1/root/' in kept['endpoint_error']
    assert _fingerprint(kept['root_pem']) == pki['fp_a'] and open(dest, 'rb').read() == before
    # Another fingerprint, or nothing kept: the CA had to be reached, and was not.
    with pytest.raises(AcmeNetworkError):
        ca_roots.bootstrap(down, pki['fp_b'], dest=dest, timeout=2)
    with pytest.raises(AcmeNetworkError):
        ca_roots.bootstrap(down, pki['fp_a'], dest=str(tmp_path / 'none.pem'), timeout=2)
    assert ca_roots.bootstrap(server.url, pki['fp_a'], dest=dest)['ca_unreachable'] is False
