# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ACME Renewal Information (RFC 9773): the CA's suggested renewal window, and ``replaces``."""

from __future__ import annotations

import base64
import datetime
import random
import threading

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._common.retry import RETRYABLE_HTTP_STATUS

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - modules report missing_required_lib
    pass


def _b64url(data):
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def ari_cert_id(cert):
    """The RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial)."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    if aki.key_identifier is None:
        return None
    serial = cert.serial_number
    # DER INTEGER content: big-endian two's complement, so room for the sign bit.
    serial_bytes = serial.to_bytes((serial.bit_length() + 8) // 8, 'big')
    return '%s.%s' % (_b64url(aki.key_identifier), _b64url(serial_bytes))


def offers_ari(session):
    try:
        return bool(session.directory['renewalInfo'])
    except KeyError:
        return False


class RenewalInfo:
    """The CA's renewal information for many certificates, asked concurrently and briefly.

    ARI is advice, so asking for it must never cost a night: every lookup of a run shares
    one overall ``deadline``, each certificate gets at most ``attempts`` tries, no
    Retry-After wait is started that would end past the deadline, and once the endpoint
    fails (no answer, a server error, a rate limit, the deadline) it is asked no more
    this run. ``failure`` then says why; the days and fraction rules decide alone.
    A 4xx answer about one certificate (a CA that does not know it) is about that
    certificate only.
    """

    def __init__(self, session, deadline, attempts=2):
        self.session = session
        self.deadline = deadline
        self.attempts = attempts
        self.failure = None
        self.skipped = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def _network(self):
        net = getattr(self._local, 'net', None)
        if net is None:
            # Imported here: the network layer needs certbot's acme, this module does not.
            from ansible_collections.autotls.acme.plugins.module_utils._acme.network import RetryPolicy
            net = self.session.network(RetryPolicy(attempts=self.attempts, bad_nonce_attempts=1,
                                                   backoff=0.5, max_backoff=2.0))
            net.deadline = self.deadline
            self._local.net = net
        return net

    def _give_up(self, reason):
        with self._lock:
            if self.failure is None:
                self.failure = reason

    def suggested_time(self, cert):
        """When the CA suggests renewing ``cert`` (a random point of its window), or None.

        None also when the endpoint has failed this run or the deadline has passed;
        raises AutoTLSError for an answer about this certificate that is not usable.
        """
        cert_id = ari_cert_id(cert)
        if cert_id is None:
            return None             # no Authority Key Identifier: nothing to ask about
        if self.failure is not None or self.deadline.expired():
            self._give_up(self.failure or 'no answer within %.0f s' % self.deadline.seconds)
            with self._lock:
                self.skipped += 1
            return None
        url = self.session.directory['renewalInfo'].rstrip('/') + '/' + cert_id
        try:
            response = self._network().fetch(url)
        except AutoTLSError as exc:
            self._give_up(str(exc))
            with self._lock:
                self.skipped += 1
            return None
        if response.status_code in RETRYABLE_HTTP_STATUS or response.status_code >= 500:
            self._give_up('%s answered HTTP %d' % (url, response.status_code))
            with self._lock:
                self.skipped += 1
            return None
        if response.status_code != 200:
            raise AutoTLSError('the CA has no renewal information (ARI) for it: %s answered HTTP %d'
                               % (url, response.status_code))
        try:
            window = response.json()['suggestedWindow']
            start, end = _parse_time(window['start']), _parse_time(window['end'])
        except (ValueError, KeyError, TypeError) as exc:
            raise AutoTLSError('the renewal information (ARI) at %s is not usable: %s' % (url, exc))
        if end < start:
            raise AutoTLSError('the renewal information (ARI) at %s ends before it starts' % url)
        # RFC 9773 section 4.2: a random point of the window, so that a fleet does not
        # renew in the same second.
        return start + (end - start) * random.random()


def _parse_time(value):
    text = str(value).strip()
    if text.endswith(('Z', 'z')):
        text = text[:-1] + '+00:00'
    # RFC 3339 allows fractions of a second longer than Python 3.10 reads.
    if '.' in text:
        head, tail = text.split('.', 1)
        digits = len(tail) - len(tail.lstrip('0123456789'))
        text = head + '.' + tail[:min(digits, 6)] + tail[digits:]
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment
