# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one retry helper and the one Retry-After parser of the collection.

Everything that talks HTTP to a peer (the ACME server, a CA's root endpoint, Slack)
retries the same way: only what is safe to retry, a bounded number of attempts, the
server's Retry-After honoured up to a cap, full-jitter backoff otherwise, and never a
sleep past the caller's overall deadline.
"""

from __future__ import annotations

import datetime
import email.utils
import random
import time

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError

# HTTP answers that say "try again later" rather than "no".
RETRYABLE_HTTP_STATUS = frozenset((408, 429, 500, 502, 503, 504))


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None.

    ``now`` (a POSIX timestamp or an aware datetime) is the moment an HTTP date is
    measured from; a date in the past means 0. Anything unreadable means None.
    """
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    if now is None:
        now = time.time()
    if isinstance(now, datetime.datetime):
        now = now.timestamp()
    return max(0.0, moment.timestamp() - now)


class RetryPolicy:
    """How hard to retry: attempts, backoff, and the cap on any single wait."""

    def __init__(self, attempts=8, backoff=0.2, max_backoff=10.0, retry_after_cap=60.0, jitter=True):
        self.attempts = max(1, int(attempts))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_after_cap = retry_after_cap
        self.jitter = jitter

    def delay(self, attempt, retry_after=None):
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        ceiling = min(self.max_backoff, self.backoff * (2 ** attempt))
        # Full jitter keeps many workers from retrying in lock step.
        return random.uniform(0, ceiling) if self.jitter else ceiling


class TryAgain(Exception):
    """Raised by a call under :func:`retry` for a failure that another attempt may fix."""

    def __init__(self, reason, retry_after=None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RetriesExhausted(AutoTLSError):
    """Every attempt failed, or the deadline left no room for another one."""

    def __init__(self, msg, attempts, last_reason, **details):
        super().__init__(msg, **details)
        self.attempts = attempts
        self.last_reason = last_reason


def retry(call, policy, deadline=None, what='the request', sleep=time.sleep):
    """``call(attempt)`` until it returns; a :class:`TryAgain` it raises means wait and retry.

    Waits ``policy.delay`` between attempts (the server's Retry-After when the TryAgain
    carries one). Gives up after ``policy.attempts`` attempts, or at once when the next
    wait would end past ``deadline`` (a :class:`Deadline`): no sleep outlives it.
    Any other exception goes straight to the caller.
    """
    attempt = 0
    while True:
        try:
            return call(attempt)
        except TryAgain as exc:
            attempt += 1
            if attempt >= policy.attempts:
                raise RetriesExhausted('gave up on %s after %d attempt%s; last error: %s' % (
                    what, attempt, '' if attempt == 1 else 's', exc.reason), attempt, exc.reason)
            wait = policy.delay(attempt - 1, exc.retry_after)
            if deadline is not None and wait >= deadline.remaining():
                raise RetriesExhausted('gave up on %s after %d attempt%s within the %.0f s limit; last error: %s' % (
                    what, attempt, '' if attempt == 1 else 's', deadline.seconds, exc.reason), attempt, exc.reason)
            sleep(wait)
