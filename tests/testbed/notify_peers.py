# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local stand-ins for the team's chat and mail: a Slack-style webhook receiver that
records every POST (and can answer from a script, e.g. a 429 first), and an aiosmtpd
handler that records every message."""

import email
import email.policy
import http.server
import json
import threading

WEBHOOK_PATH = '/services/T0AUTOTLS/B0NOTIFY/xoxWebhookS3cretToken'


# ---------------------------------------------------------------- Slack: a webhook receiver

class WebhookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get('Content-Length', 0))
        body = self.rfile.read(length)
        receiver = self.server.receiver
        with receiver.lock:
            answer = receiver.answers.pop(0) if receiver.answers else 200
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            receiver.requests.append(dict(path=self.path, status=status, body=json.loads(body),
                                          content_type=self.headers.get('Content-Type')))
        # Slack's own bodies for these statuses.
        text = {200: b'ok', 404: b'no_service', 429: b'rate_limited'}.get(status, b'error')
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers from a script.

    answers: in order, a status or (status, headers) per POST; 200 once they run out.
    """

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.requests = []
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), WebhookHandler)
        self.server.receiver = self
        self.url = 'http://127.0.0.1:%d%s' % (self.server.server_address[1], WEBHOOK_PATH)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs=dict(poll_interval=0.1),
                                       daemon=True)

    @property
    def posts(self):
        """The JSON bodies received, in order."""
        return [r['body'] for r in self.requests]

    @property
    def accepted(self):
        return [r for r in self.requests if r['status'] == 200]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class RecordingHandler:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(dict(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                                  message=message, authenticated=bool(session.authenticated)))
        return '250 Message accepted for delivery'
