# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted ACME Renewal Information (RFC 9773) endpoint in front of Pebble 2.4, which has none.

It serves Pebble's directory with a ``renewalInfo`` URL added (every other URL still points
at Pebble, so signed requests go straight to it) and answers renewalInfo requests with the
window the test sets, recording which certificate identifiers were asked about.
"""

import datetime
import json
import ssl
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AriServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pebble):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.pebble = pebble
        self.window = None          # (start, end) datetimes, UTC
        self.asked = []             # certificate identifiers asked about
        self.profiles = None        # {name: description} to announce in the directory's meta
        self._thread = None

    @property
    def directory_url(self):
        return 'http://127.0.0.1:%d/dir' % self.server_address[1]

    def set_window(self, start, end):
        self.window = (start, end)

    def window_from_now(self, start_seconds, end_seconds):
        now = datetime.datetime.now(datetime.timezone.utc)
        self.set_window(now + datetime.timedelta(seconds=start_seconds),
                        now + datetime.timedelta(seconds=end_seconds))

    def pebble_directory(self):
        context = ssl.create_default_context(cafile=self.pebble.ca_bundle)
        with urllib.request.urlopen(self.pebble.directory_url, context=context, timeout=10) as answer:
            return json.load(answer)

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _json(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        server = self.server
        if self.path == '/dir':
            directory = server.pebble_directory()
            directory['renewalInfo'] = 'http://127.0.0.1:%d/renewalInfo' % server.server_address[1]
            if server.profiles:
                directory.setdefault('meta', {})['profiles'] = server.profiles
            return self._json(200, directory)
        if self.path.startswith('/renewalInfo/') and server.window:
            server.asked.append(self.path.split('/', 2)[2])
            start, end = server.window
            fmt = '%Y-%m-%dT%H:%M:%SZ'
            return self._json(200, {'suggestedWindow': {'start': start.strftime(fmt), 'end': end.strftime(fmt)}},
                              {'Retry-After': '21600'})
        return self._json(404, {'type': 'urn:ietf:params:acme:error:malformed', 'detail': 'unknown'})
