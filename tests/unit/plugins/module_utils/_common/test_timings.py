# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-phase wall time: the union of each phase's intervals, whatever the threads."""

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.timings import NoTimings, PhaseTimings


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_overlapping_intervals_of_a_phase_count_once():
    timings = PhaseTimings(clock=Clock())
    # Three workers validating: 0-2, 1-3 (overlap), 5-6 (after a gap).
    timings.add('validation', 0.0, 2.0)
    timings.add('validation', 1.0, 3.0)
    timings.add('validation', 5.0, 6.0)
    timings.add('validation', 5.2, 5.5)     # inside another one
    assert timings.as_dict() == {'validation': 4.0}


def test_phases_keep_the_order_they_first_ran_in_and_end_defaults_to_now():
    clock = Clock()
    timings = PhaseTimings(clock=clock)
    started = timings.clock()
    clock.now += 0.25
    timings.add('orders', started)
    with timings.phase('dns_write'):
        clock.now += 0.5
    timings.add('orders', clock.now, clock.now + 0.125)
    assert list(timings.as_dict().items()) == [('orders', 0.375), ('dns_write', 0.5)]


def test_a_phase_that_raises_is_still_recorded():
    clock = Clock()
    timings = PhaseTimings(clock=clock)
    with pytest.raises(RuntimeError):
        with timings.phase('finalize'):
            clock.now += 1.5
            raise RuntimeError('the CA said no')
    assert timings.as_dict() == {'finalize': 1.5}


def test_no_timings_records_nothing():
    timings = NoTimings()
    with timings.phase('orders'):
        pass
    timings.add('orders', timings.clock())
    assert timings.as_dict() == {}
