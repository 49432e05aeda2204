# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""certbot's ClientNetwork with bounded retries: badNonce, 429, 5xx, connection errors.

certbot's class retries badNonce once and nothing else. A CA that rejects 5% of nonces
(Pebble's default, and real CAs under load) makes a single retry fail too often when
hundreds of requests run, so every POST here retries with a fresh nonce (taken from the
error response itself, saving a round trip) and honours Retry-After up to a cap.

A rate limit (``rateLimited``, HTTP 429) is never retried: every attempt would count
against the limit again. It is raised at once, with the CA's Retry-After in seconds as
``retry_after``, for the caller to stop ordering from that CA (``_acme.fallback``).

A CA that cannot be reached (connection refused or reset, no answer within the request
timeout) is tried ``unreachable_attempts`` times (3) per request, not the whole budget:
then it is taken as down for the rest of the module run (:class:`Reachability`, shared by
the transports of one session), and every later request to it fails at once. A run with
fallback issuers pays that wait once, not once per certificate. A POST that was sent but
not answered in time may have been processed (a finalization): it is retried, but never
counted as the CA being unreachable, and moves only its own certificate to the next issuer.

A ClientNetwork keeps a nonce pool and a requests session: neither is safe to share
between threads, so the session layer gives each worker thread its own instance.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeNetworkError,
    AcmeProtocolError,
    DeadlineExceeded,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.retry import (
    RETRYABLE_HTTP_STATUS,
    RetryPolicy as _BaseRetryPolicy,
    parse_retry_after,
)

try:
    import requests
    from acme import client as acme_client
    from acme import errors as acme_errors
    from acme import messages
    HAS_ACME = True
    _Base = acme_client.ClientNetwork
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    HAS_ACME = False
    _Base = object

# 429 is the CA's rate limit: retrying uses up more of it.
RETRYABLE_STATUS = RETRYABLE_HTTP_STATUS - frozenset((429,))
RETRYABLE_PROBLEMS = ('badNonce', 'serverInternal')
RATE_LIMITED = 'rateLimited'


if HAS_ACME:
    class EnvironmentOnceSession(requests.Session):
        """A requests Session that reads the environment once per origin, not once per request.

        requests looks up the proxy variables (walking all of ``os.environ`` twice) and
        ``REQUESTS_CA_BUNDLE`` on every request; with the hundreds of requests of a run
        in an Ansible-sized environment that was a fifth of the module's CPU time. The
        environment does not change during a run, so the merged settings are kept per
        scheme and host: ``HTTPS_PROXY``, ``NO_PROXY`` and the CA bundle variables
        still apply exactly as requests applies them.
        """

        def __init__(self):
            super().__init__()
            self._environment = {}

        def merge_environment_settings(self, url, proxies, stream, verify, cert):
            if proxies or not self.trust_env:
                return super().merge_environment_settings(url, proxies, stream, verify, cert)
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, stream, verify, cert)
            merged = self._environment.get(key)
            if merged is None:
                merged = self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
            return dict(merged, proxies=dict(merged['proxies']))


class RetryPolicy(_BaseRetryPolicy):
    """The collection's retry policy, plus separate budgets for rejected nonces and for a CA that is not there."""

    def __init__(self, attempts=8, bad_nonce_attempts=20, backoff=0.2, max_backoff=10.0, retry_after_cap=60.0,
                 unreachable_attempts=3):
        super().__init__(attempts=attempts, backoff=backoff, max_backoff=max_backoff,
                         retry_after_cap=retry_after_cap)
        # A rejected nonce costs one round trip and no wait; a CA rejecting 30% of them
        # needs this many to fail less than once in a hundred million requests.
        self.bad_nonce_attempts = bad_nonce_attempts
        # A connection refused, reset or left unanswered for the request timeout: this many
        # in a row for one request and the CA is taken as down (Reachability).
        self.unreachable_attempts = max(1, int(unreachable_attempts))


class CaUnreachable(AcmeNetworkError):
    """No connection to the CA, or no answer within the request timeout; ``reason`` says what the transport saw."""

    def __init__(self, msg, reason=None, **details):
        super().__init__(msg, **details)
        self.reason = reason or msg


class Reachability:
    """Whether one CA could be reached this run: shared by every transport of its session.

    When one request could not reach the CA ``unreachable_attempts`` times in a row
    (connection refused or reset, no answer within the request timeout), the CA is taken
    as down: every later request to it through the same session fails at once with that
    error, so a run pays the wait for an unreachable CA once, not once per certificate
    (the next issuer takes the certificates, ``_acme.fallback``).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.error = None

    def check(self):
        error = self.error
        if error is not None:
            raise CaUnreachable(error.msg, reason=error.reason, **error.details)

    def mark_down(self, error):
        with self._lock:
            if self.error is None:
                self.error = error


def problem_to_dict(error):
    """An ACME problem document (acme.messages.Error) as plain data for results."""
    doc = {'type': error.typ, 'detail': error.detail}
    if getattr(error, 'identifier', None) is not None:
        doc['identifier'] = error.identifier.value
    if error.subproblems:
        doc['subproblems'] = [problem_to_dict(sub) for sub in error.subproblems]
    return doc


def _unwrapped(send, *args, **kwargs):
    """``send(*args, **kwargs)``, raising the connection error itself where acme hides it.

    acme before 5 turns a refused connection into a ValueError ("Requesting host/path:
    ...") raised while handling it; the connection error stays its context.
    """
    try:
        return send(*args, **kwargs)
    except ValueError as exc:
        if isinstance(exc.__context__, requests.exceptions.RequestException):
            raise exc.__context__ from None
        raise


class RetryingClientNetwork(_Base):
    """ClientNetwork that retries what is safe to retry, within a bounded budget."""

    def __init__(self, *args, retry_policy=None, reachability=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The parent's plain Session, with its adapter, in one that reads the environment once.
        session = EnvironmentOnceSession()
        for prefix, adapter in self.session.adapters.items():
            session.mount(prefix, adapter)
        self.session = session
        self.retry_policy = retry_policy or RetryPolicy()
        # Shared with the other transports to the same CA: once it is found down, no request waits for it again.
        self.reachability = reachability or Reachability()
        self.last_response = None
        # The current operation's overall Deadline (set per thread by the order in hand):
        # no request outlives it, and no retry starts after it.
        self.deadline = None

    def _check_deadline(self, url):
        if self.deadline is not None and self.deadline.expired():
            raise DeadlineExceeded('Gave up after %.0f s waiting for the ACME server at %s'
                                   % (self.deadline.seconds, url), url=url)

    def _sleep(self, seconds, url):
        # A wait that would end past the deadline is not started: give up now.
        if self.deadline is not None and seconds >= self.deadline.remaining():
            raise DeadlineExceeded('Gave up after %.0f s waiting for the ACME server at %s (it asked to '
                                   'wait %.0f s more)' % (self.deadline.seconds, url, seconds), url=url)
        time.sleep(max(0.0, seconds))
        self._check_deadline(url)

    def _unreachable(self, url, attempts, exc):
        """The error of a request that never reached the CA; after the last allowed attempt, the CA is down."""
        error = CaUnreachable('Could not reach the ACME server at %s (%d attempt%s): %s'
                              % (url, attempts, '' if attempts == 1 else 's', exc), reason=str(exc), url=url)
        if attempts >= self.retry_policy.unreachable_attempts:
            self.reachability.mark_down(error)
        return error

    def _send_request(self, method, url, *args, **kwargs):
        policy = self.retry_policy
        unreachable = 0
        for attempt in range(policy.attempts):
            self._check_deadline(url)
            self.reachability.check()
            if self.deadline is not None:
                kwargs['timeout'] = max(1.0, min(self._default_timeout, self.deadline.remaining()))
            try:
                response = _unwrapped(super()._send_request, method, url, *args, **kwargs)
            except requests.exceptions.RequestException as exc:
                unreachable += 1
                if method == 'POST':
                    if isinstance(exc, requests.exceptions.ReadTimeout):
                        # Sent, then no answer in time: the CA may have processed it (a finalization).
                        # Retried by post(), but never counted as the CA being unreachable.
                        error = AcmeNetworkError('No answer in time from the ACME server at %s (the request may '
                                                 'have been processed): %s' % (url, exc), url=url)
                        error.down = False
                        raise error
                    # A POST is re-signed by post() with a fresh nonce; raise to it.
                    raise CaUnreachable('Could not reach the ACME server at %s: %s' % (url, exc), reason=str(exc),
                                        url=url)
                if attempt + 1 >= policy.attempts or unreachable >= policy.unreachable_attempts:
                    raise self._unreachable(url, unreachable, exc)
                self._sleep(policy.delay(attempt), url)
                continue
            self.last_response = response
            # Every ACME response carries a fresh nonce, errors included: keep it.
            nonce = response.headers.get(self.REPLAY_NONCE_HEADER)
            if nonce:
                try:
                    self._add_nonce(response)
                except acme_errors.BadNonce:
                    pass
            if method != 'POST' and response.status_code in RETRYABLE_STATUS and attempt + 1 < policy.attempts:
                self._sleep(policy.delay(attempt, parse_retry_after(response.headers.get('Retry-After'))), url)
                continue
            return response
        raise AcmeNetworkError('No answer from %s after %d attempts' % (url, policy.attempts), url=url)

    def fetch(self, url):
        """GET ``url`` under this network's retry policy and deadline; the response whatever its status."""
        return self._send_request('GET', url)

    def _post_once(self, url, obj, content_type=None, **kwargs):
        # The parent adds the response nonce after a success; _send_request already did.
        new_nonce_url = kwargs.pop('new_nonce_url', None)
        data = self._wrap_in_jws(obj, self._get_nonce(url, new_nonce_url), url)
        content_type = content_type or self.JOSE_CONTENT_TYPE
        kwargs.setdefault('headers', {'Content-Type': content_type})
        response = self._send_request('POST', url, data=data, **kwargs)
        return self._check_response(response, content_type=content_type)

    def post(self, *args, **kwargs):
        policy = self.retry_policy
        url = args[0] if args else kwargs.get('url')
        failures = 0            # other than rejected nonces
        bad_nonces = 0
        unreachable = 0         # of the failures: no connection, or no answer in time
        while True:             # bounded: each pass raises, returns, or counts one of the two
            self._check_deadline(url)
            self.reachability.check()
            last = failures + 1 >= policy.attempts
            try:
                return self._post_once(*args, **dict(kwargs))
            except messages.Error as error:
                if error.code == 'badNonce':
                    bad_nonces += 1
                    if bad_nonces < policy.bad_nonce_attempts:
                        continue    # the error answer carried a fresh nonce: retry at once
                if error.code not in RETRYABLE_PROBLEMS or error.code == 'badNonce' or last:
                    extra = {}
                    if error.code == RATE_LIMITED or getattr(self.last_response, 'status_code', None) == 429:
                        extra['retry_after'] = self._retry_after()
                    raise AcmeProtocolError(
                        'The ACME server refused the request to %s: %s' % (url, _problem_text(error)),
                        problem=problem_to_dict(error), url=url,
                        status=getattr(self.last_response, 'status_code', None), **extra)
                failures += 1
                self._sleep(policy.delay(failures, self._retry_after()), url)
            except CaUnreachable as error:
                unreachable += 1
                self.reachability.check()     # the nonce request before it found the CA down
                if last or unreachable >= policy.unreachable_attempts:
                    raise self._unreachable(url, unreachable, error.reason)
                failures += 1
                self._sleep(policy.delay(failures), url)
            except AcmeNetworkError:
                if last:
                    raise
                failures += 1
                self._sleep(policy.delay(failures), url)
            except acme_errors.ConflictError:
                raise
            except acme_errors.ClientError as error:
                status = getattr(self.last_response, 'status_code', None)
                if status not in RETRYABLE_STATUS or last:
                    extra = {'retry_after': self._retry_after()} if status == 429 else {}
                    raise AcmeProtocolError(
                        'Unexpected answer from the ACME server at %s (HTTP %s): %s' % (url, status, error),
                        url=url, status=status, **extra)
                failures += 1
                self._sleep(policy.delay(failures, self._retry_after()), url)

    def _retry_after(self):
        if self.last_response is None:
            return None
        return parse_retry_after(self.last_response.headers.get('Retry-After'))


def _problem_text(error):
    text = '%s: %s' % (error.typ, error.detail) if error.detail else str(error.typ)
    for sub in error.subproblems or ():
        ident = getattr(sub, 'identifier', None)
        text += '; %s%s' % ('%s: ' % ident.value if ident is not None else '', sub.detail or sub.typ)
    return text
