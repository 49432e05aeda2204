# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import datetime

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy

UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 1, 1, tzinfo=UTC)


def hours(n):
    return datetime.timedelta(hours=n)


def days(n):
    return datetime.timedelta(days=n)


def test_ninety_day_certificate_renews_thirty_days_before_expiry():
    policy = RenewalPolicy(days=30, fraction=0.33)
    at = policy.renew_at(T0, T0 + days(90))
    assert at == T0 + days(60)
    assert policy.decide(T0, T0 + days(90), T0 + days(59))[0] is False
    assert policy.decide(T0, T0 + days(90), T0 + days(60))[0] is True


def test_day_certificate_renews_at_two_thirds_of_its_life():
    policy = RenewalPolicy(days=30, fraction=0.33)
    at = policy.renew_at(T0, T0 + hours(24))
    assert abs((at - T0).total_seconds() - 0.67 * 86400) < 1
    assert policy.decide(T0, T0 + hours(24), T0 + hours(15))[0] is False
    due, reason = policy.decide(T0, T0 + hours(24), T0 + hours(17))
    assert due and 'due since' in reason


def test_fraction_says_sooner_than_days_for_a_long_certificate():
    policy = RenewalPolicy(days=10, fraction=0.5)
    assert policy.renew_at(T0, T0 + days(90)) == T0 + days(45)


def test_expired_certificate_is_due_with_reason():
    due, reason = RenewalPolicy().decide(T0, T0 + days(90), T0 + days(91))
    assert due and reason.startswith('expired')


def test_ari_window_start_makes_it_due_only_when_enabled():
    window = T0 + days(10)
    assert RenewalPolicy(ari=True).decide(T0, T0 + days(90), T0 + days(11), window)[0] is True
    assert RenewalPolicy(ari=False).decide(T0, T0 + days(90), T0 + days(11), window)[0] is False


@pytest.mark.parametrize('kwargs', [{'fraction': 1.5}, {'fraction': -0.1}, {'days': -1}])
def test_bad_policy_is_rejected_with_a_message_naming_the_option(kwargs):
    with pytest.raises(ConfigurationError) as err:
        RenewalPolicy(**kwargs)
    assert 'renew_before' in str(err.value)
