# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one retry helper and Retry-After parser every HTTP client of the collection uses."""

import datetime

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.retry import (
    RetriesExhausted,
    RetryPolicy,
    TryAgain,
    parse_retry_after,
    retry,
)


def test_retry_after_forms():
    assert parse_retry_after('7') == 7.0
    assert parse_retry_after(' 0 ') == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after('') is None
    assert parse_retry_after('soon') is None
    assert parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT') == 0.0          # in the past
    assert 9 < parse_retry_after('Wed, 21 Oct 2015 07:28:10 GMT', now=1445412480.0) < 11
    moment = datetime.datetime(2015, 10, 21, 7, 28, tzinfo=datetime.timezone.utc)
    assert parse_retry_after('Wed, 21 Oct 2015 07:30:00 GMT', now=moment) == 120.0


def test_retries_until_success_waiting_what_the_server_asks_up_to_the_cap():
    slept = []
    answers = [TryAgain('busy', retry_after=3600), TryAgain('busy'), 'done']

    def call(attempt):
        answer = answers[attempt]
        if isinstance(answer, Exception):
            raise answer
        return answer

    policy = RetryPolicy(attempts=3, backoff=1.0, retry_after_cap=5.0, jitter=False)
    assert retry(call, policy, sleep=slept.append) == 'done'
    assert slept == [5.0, 2.0]


def test_gives_up_after_the_attempts_naming_the_last_error():
    calls = []

    def call(attempt):
        calls.append(attempt)
        raise TryAgain('HTTP 503 from https://ca.test/roots.pem')

    with pytest.raises(RetriesExhausted) as err:
        retry(call, RetryPolicy(attempts=2, backoff=0.0), what='the roots', sleep=lambda s: None)
    assert calls == [0, 1] and err.value.attempts == 2
    assert 'the roots' in str(err.value) and 'HTTP 503' in str(err.value)


def test_no_wait_is_started_that_would_end_past_the_deadline():
    slept = []

    def call(attempt):
        raise TryAgain('rate limited', retry_after=30)

    with pytest.raises(RetriesExhausted) as err:
        retry(call, RetryPolicy(attempts=5), deadline=Deadline(10), sleep=slept.append)
    assert slept == [] and err.value.attempts == 1 and '10 s' in str(err.value)


def test_other_errors_are_not_retried():
    def call(attempt):
        raise ValueError('not transient')

    with pytest.raises(ValueError):
        retry(call, RetryPolicy(attempts=5), sleep=lambda s: None)
