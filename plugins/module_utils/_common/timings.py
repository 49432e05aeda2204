# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a run's seconds went: wall-clock time per phase, for a module's ``timings`` result.

A phase may run in many threads at once (each certificate's validation, say). Its figure
is the wall time during which at least one thread was in it (the union of the
intervals), so a phase that ran for 50 certificates over 10 workers counts the seconds
it held the run up, not 50 times those seconds. Phases can overlap each other, so the
figures need not add up to the total.

This module is imported first by the modules that report timings: ``IMPORTED_AT`` marks
the moment before the heavy libraries (acme, boto3, cryptography) are imported.
"""

from __future__ import annotations

import contextlib
import threading
import time

IMPORTED_AT = time.monotonic()


class PhaseTimings:
    """Collects (start, end) intervals per phase; thread-safe."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._intervals = {}        # phase -> [(start, end)], phases in first-seen order

    def clock(self):
        return self._clock()

    def add(self, phase, start, end=None):
        """Record one interval of ``phase``; ``end`` defaults to now."""
        end = self._clock() if end is None else end
        with self._lock:
            self._intervals.setdefault(phase, []).append((start, end))

    @contextlib.contextmanager
    def phase(self, name):
        """``with timings.phase('orders'):`` records the block's interval, also when it raises."""
        start = self._clock()
        try:
            yield
        finally:
            self.add(name, start, self._clock())

    def as_dict(self, ndigits=3):
        """``{phase: seconds}``: per phase, the wall time covered by its intervals."""
        with self._lock:
            items = [(phase, list(intervals)) for phase, intervals in self._intervals.items()]
        return dict((phase, round(_covered(intervals), ndigits)) for phase, intervals in items)


class NoTimings:
    """Stands in where nobody asked for timings."""

    @contextlib.contextmanager
    def phase(self, name):
        yield

    @staticmethod
    def clock():
        return time.monotonic()

    def add(self, phase, start, end=None):
        pass

    def as_dict(self, ndigits=3):
        return {}


def _covered(intervals):
    total, reach = 0.0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total
