# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An HTTPS proxy in front of a real ACME CA (Pebble) that fails the way a CA does.

The CA behind it is real: every request the proxy lets through goes to Pebble unchanged,
with the client's Host header, so Pebble builds every URL (directory, orders,
finalization) on the proxy's own address and the client never leaves the proxy. The
proxy serves with Pebble's own TLS certificate, so the client trusts it with
``pebble.ca_bundle``.

Failures, set with :meth:`fail` (and cleared with :meth:`heal`): requests whose path
starts with a prefix (``ORDER`` = Pebble's newOrder, ``FINALIZE`` = its finalization)
are answered by the proxy itself with a status and an RFC 8555 problem document
(``rateLimited`` with a Retry-After, ``serverInternal``), never reaching Pebble; or the
proxy answers nothing at all (``down``: the connection is closed, as a CA that is not
there). :meth:`stop` closes its port (every connection is refused, as when the CA's
process is stopped) and :meth:`start` opens the same port again. ``seen`` lists ``(method, path, status, problem type)`` of every request, for
assertions; :meth:`count` leaves out the requests Pebble refused for a stale nonce (it
rejects some on purpose), which every client retries.
"""

import http.client
import http.server
import json
import ssl
import threading

from .ports import free_tcp_port

ORDER = '/order-plz'            # Pebble's newOrder
FINALIZE = '/finalize-order/'   # Pebble's finalization of an order
HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection'}


class CaProxy:
    def __init__(self, pebble, name='ca-proxy'):
        self.pebble = pebble
        self.name = name
        self.port = free_tcp_port('127.0.0.1')
        self.rules = []         # (path prefix, status, problem type, headers) or (None, 'down', ...)
        self.seen = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    @property
    def directory_url(self):
        return 'https://127.0.0.1:%d/dir' % self.port

    @property
    def ca_bundle(self):
        return self.pebble.ca_bundle

    def fail(self, prefix, status=503, problem='serverInternal', retry_after=None):
        """Answer requests under ``prefix`` with ``status`` and a ``problem`` document; ``status='down'`` closes them."""
        headers = {'Retry-After': str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self.rules.append((prefix, status, problem, headers))

    def heal(self):
        with self._lock:
            self.rules = []

    def count(self, prefix, method='POST'):
        """Requests to paths under ``prefix``, not counting those refused as badNonce."""
        with self._lock:
            return len([1 for m, path, _status, problem in self.seen
                        if m == method and path.startswith(prefix) and problem != 'badNonce'])

    def _rule(self, path):
        with self._lock:
            for rule in self.rules:
                if rule[0] is None or path.startswith(rule[0]):
                    return rule
        return None

    def _record(self, method, path, status, problem=None):
        with self._lock:
            self.seen.append((method, path, status, problem))

    def start(self):
        proxy = self
        upstream_context = ssl.create_default_context(cafile=self.pebble.ca_bundle)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                rule = proxy._rule(self.path)
                if rule is not None and rule[1] == 'down':
                    proxy._record(self.command, self.path, 'down')
                    self.close_connection = True
                    self.connection.close()
                    return
                if rule is not None:
                    self._problem(rule)
                    return
                upstream = http.client.HTTPSConnection('127.0.0.1', proxy.pebble.port, context=upstream_context,
                                                       timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    problem = None
                    if response.status >= 400 and 'problem' in (response.getheader('Content-Type') or ''):
                        try:
                            problem = str(json.loads(data).get('type', '')).rsplit(':', 1)[-1]
                        except ValueError:
                            problem = 'unreadable'
                    proxy._record(self.command, self.path, response.status, problem)
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    if self.command != 'HEAD':
                        self.wfile.write(data)
                finally:
                    upstream.close()

            def _problem(self, rule):
                _prefix, status, problem, headers = rule
                proxy._record(self.command, self.path, status, problem)
                data = json.dumps({'type': 'urn:ietf:params:acme:error:' + problem,
                                   'detail': 'the test proxy in front of the CA answers %s' % problem}).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/problem+json')
                # A real CA sends a fresh nonce with every answer: take one from Pebble.
                self.send_header('Replay-Nonce', self._nonce())
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _nonce(self):
                upstream = http.client.HTTPSConnection('127.0.0.1', proxy.pebble.port, context=upstream_context,
                                                       timeout=30)
                try:
                    upstream.request('HEAD', '/nonce-plz', headers={'Host': self.headers.get('Host', '')})
                    return upstream.getresponse().getheader('Replay-Nonce') or ''
                finally:
                    upstream.close()

            do_GET = do_POST = do_HEAD = _handle  # noqa: N815 (http.server's method names)

        server = http.server.ThreadingHTTPServer(('127.0.0.1', self.port), Handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pebble.tls.cert, self.pebble.tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
