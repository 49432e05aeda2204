# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a certificate's lifetime fits the schedule of the runs that renew it.

A scheduled run renews what is due when it runs. Between the moment a certificate
becomes due (the renewal policy's point) and its expiry there must be room for at least
one run: with runs ``interval`` hours apart, a window shorter than that can fall
between two runs, and the certificate expires before any run renews it. A 24-hour
step-ca certificate renewed at a third of its lifetime left has an 8-hour window, which
a nightly job misses two nights out of three.

:func:`schedule_fit` says so, with what to change: run more often, or have the CA issue
longer-lived certificates (for step-ca, the ACME provisioner's
``claims.defaultTLSCertDuration``), or renew earlier.
"""

from __future__ import annotations

import datetime
import math
import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

DEFAULT_RUN_INTERVAL = 24.0
MAX_RUN_INTERVAL = 24.0 * 366
# step-ca serves each ACME provisioner at /acme/<provisioner>/directory.
_STEPCA_DIRECTORY = re.compile(r'https?://[^/]+/acme/([^/]+)/directory/?')


def check_run_interval(value, option='run_interval'):
    """Hours between scheduled runs, as a float; refused early with what to change."""
    try:
        hours = None if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        hours = None
    if hours is None or math.isnan(hours) or not 0 < hours <= MAX_RUN_INTERVAL:
        raise ConfigurationError(
            '%s must be the hours between two scheduled runs, a number above 0 and at most %d (24 for a nightly '
            'job, 1 for an hourly one), got %r' % (option, MAX_RUN_INTERVAL, value))
    return hours


def _hours(delta):
    return delta.total_seconds() / 3600.0


def _fmt(hours):
    """'8 h', '1.5 h', '3 days'."""
    if hours >= 72 and hours % 24 == 0:
        return '%d days' % round(hours / 24)
    text = ('%.1f' % hours).rstrip('0').rstrip('.')
    return '%s h' % text


def stepca_provisioner(directory_url):
    """The ACME provisioner's name when the directory URL is step-ca's, else None."""
    match = _STEPCA_DIRECTORY.fullmatch(directory_url or '')
    return match.group(1) if match else None


def schedule_fit(policy, not_before, not_after, interval_hours, directory_url=None, name=None):
    """None when some run always falls between the renewal point and expiry, else what to change.

    ``policy``: the RenewalPolicy (``renew_at``, ``fraction``). Returns a dict with
    ``interval_hours``, ``lifetime_hours``, ``window_hours`` (from the renewal point to
    expiry), ``renew_after_hours`` (from issuance to the renewal point), ``advice`` (one
    sentence an operator acts on) and ``changes`` (the same, one option per item).
    """
    interval = check_run_interval(interval_hours)
    lifetime = _hours(not_after - not_before)
    if lifetime <= 0:
        return None
    renew_at = policy.renew_at(not_before, not_after)
    window = _hours(not_after - renew_at)
    if window >= interval:
        return None
    changes = ['run at least every %s (the schedule, and autotls_run_interval with it)' % _fmt(max(window, 0.0))]
    fraction = policy.fraction
    if fraction:
        # The fraction rule alone gives a window of fraction * lifetime.
        needed = math.ceil(interval / fraction)
        provisioner = stepca_provisioner(directory_url)
        where = ("for step-ca, the ACME provisioner %s's claims.defaultTLSCertDuration: \"%dh\" (and "
                 "maxTLSCertDuration) in ca.json" % (provisioner, needed)) if provisioner else "the CA's default lifetime or the profile you order"
        changes.append('have the CA issue certificates of at least %s (%s)' % (_fmt(needed), where))
        wanted = interval / lifetime
        if wanted < 0.9:
            changes.append('renew earlier: an autotls_renew_before fraction of at least %.2f'
                           % (math.ceil(wanted * 100) / 100.0))
    label = 'Certificate %s' % name if name else 'The certificate'
    advice = ('%s lives %s and is due %s after issuance, %s before it expires, but runs are %s apart: a run '
              'can find it not yet due and the next one come after it expired. Change one: %s.'
              % (label, _fmt(lifetime), _fmt(_hours(renew_at - not_before)), _fmt(max(window, 0.0)),
                 _fmt(interval), '; or '.join(changes)))
    return dict(interval_hours=round(interval, 2), lifetime_hours=round(lifetime, 2),
                window_hours=round(max(window, 0.0), 2), renew_after_hours=round(_hours(renew_at - not_before), 2),
                advice=advice, changes=changes)


def _parse(text):
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)


def schedule_of_facts(policy, facts, interval_hours, directory_url=None, name=None):
    """:func:`schedule_fit` for the facts a module returns (``not_before``, ``not_after``); None without them."""
    if not facts or not facts.get('not_before') or not facts.get('not_after'):
        return None
    return schedule_fit(policy, _parse(facts['not_before']), _parse(facts['not_after']), interval_hours,
                        directory_url, name)
