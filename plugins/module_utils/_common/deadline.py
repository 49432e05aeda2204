# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Overall deadlines for every wait, with messages that say what was awaited."""

from __future__ import annotations

import time

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import DeadlineExceeded


class Deadline:
    """A point in (monotonic) time after which waiting stops."""

    def __init__(self, seconds, clock=time.monotonic):
        self._clock = clock
        self.seconds = float(seconds)
        self.expires_at = clock() + self.seconds

    def remaining(self):
        return max(0.0, self.expires_at - self._clock())

    def expired(self):
        return self._clock() >= self.expires_at

    def check(self, waiting_for, error=DeadlineExceeded):
        if self.expired():
            raise error('Gave up after %.0f s waiting for %s' % (self.seconds, waiting_for))

    def sleep(self, seconds, waiting_for, error=DeadlineExceeded):
        """Sleep ``seconds`` but never past the deadline; raise once it is reached."""
        self.check(waiting_for, error)
        time.sleep(max(0.0, min(seconds, self.remaining())))
        self.check(waiting_for, error)


def poll(probe, deadline, waiting_for, first_delay=0.05, max_delay=2.0, factor=1.6,
         error=DeadlineExceeded, retry_after_cap=None):
    """Call ``probe()`` until it returns something other than None.

    ``probe`` may return ``(None, delay)`` to ask for a specific next delay (for
    example the server's Retry-After, capped at ``retry_after_cap`` when given).
    Delays grow geometrically from ``first_delay`` up to ``max_delay``.
    """
    delay = first_delay
    while True:
        result = probe()
        requested = None
        if isinstance(result, tuple) and len(result) == 2 and result[0] is None:
            requested = result[1]
            if requested is not None and retry_after_cap is not None:
                requested = min(requested, retry_after_cap)
            result = None
        if result is not None:
            return result
        deadline.sleep(requested if requested is not None else delay, waiting_for, error)
        delay = min(max_delay, delay * factor)
