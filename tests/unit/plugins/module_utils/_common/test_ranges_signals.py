# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Range checks that name the option; SIGTERM raised like Ctrl-C, handler restored."""

import os
import signal

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import (
    POSITIVE,
    TTL_RANGE,
    check_range,
    check_ranges,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.signals import Terminated, terminate_as_interrupt


@pytest.mark.parametrize('option,value,limits,message', [
    ('dns_ttl', 0, TTL_RANGE + ('seconds',), 'dns_ttl must be between 1 and 2147483647 seconds, got 0'),
    ('dns_ttl', 2147483648, TTL_RANGE, 'dns_ttl must be between 1 and 2147483647, got 2147483648'),
    ('ttl', -5, TTL_RANGE, 'ttl must be between 1 and 2147483647, got -5'),
    ('timeout', 0, POSITIVE + ('seconds',), 'timeout must be at least 1 seconds, got 0'),
    ('concurrency', -1, POSITIVE, 'concurrency must be at least 1, got -1'),
    ('wait_timeout', True, POSITIVE, 'wait_timeout must be a number, got True'),
])
def test_out_of_range_values_name_the_option(option, value, limits, message):
    with pytest.raises(ConfigurationError) as err:
        check_range(option, value, *limits)
    assert str(err.value) == message
    assert err.value.details == {'option': option}


def test_values_in_range_and_unset_options_pass():
    check_ranges({'dns_ttl': 1, 'timeout': 300, 'concurrency': None},
                 {'dns_ttl': TTL_RANGE, 'timeout': POSITIVE, 'concurrency': POSITIVE, 'absent': POSITIVE})
    assert check_range('dns_ttl', 2147483647, *TTL_RANGE) == 2147483647


def test_sigterm_raises_terminated_and_the_previous_handler_comes_back():
    seen = []

    def previous(signum, _frame):
        seen.append(signum)

    old = signal.signal(signal.SIGTERM, previous)
    try:
        cleaned = []
        with pytest.raises(Terminated) as err:
            with terminate_as_interrupt():
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    signal.pause()  # pragma: no cover - the handler raises first
                finally:
                    # A second SIGTERM during the cleanup does not cut it short.
                    os.kill(os.getpid(), signal.SIGTERM)
                    cleaned.append(True)
        assert cleaned == [True]
        assert isinstance(err.value, KeyboardInterrupt) and str(err.value) == 'stopped by SIGTERM'
        assert signal.getsignal(signal.SIGTERM) is previous
        os.kill(os.getpid(), signal.SIGTERM)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, old)
