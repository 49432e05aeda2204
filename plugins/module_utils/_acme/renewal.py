# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When a certificate is due: days before expiry, fraction of lifetime left, ARI window."""

from __future__ import annotations

import datetime

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError


class RenewalPolicy:
    """Whichever rule says sooner wins.

    ``days``: renew when fewer than this many days are left. A days rule longer than half
    the certificate's lifetime would renew right after every issuance (think 30 days on a
    24-hour certificate), so it only counts when ``days`` is under half the lifetime; the
    fraction rule then decides alone.
    ``fraction``: renew when less than this fraction of the lifetime is left
    (0.33 renews a 24-hour certificate after about 16 hours; 1 renews on every run).
    ARI: renew once the CA's suggested window has started.
    """

    def __init__(self, days=30, fraction=0.33, ari=True):
        if days is not None and days < 0:
            raise ConfigurationError('renew_before days must be 0 or more, got %r' % days)
        if fraction is not None and not 0 <= fraction <= 1:
            raise ConfigurationError(
                'renew_before fraction must be from 0 to 1 (0.33 = renew when a third of the lifetime is left, '
                '1 = renew on every run), got %r' % fraction)
        self.days = days
        self.fraction = fraction
        self.ari = ari

    @classmethod
    def from_option(cls, value):
        value = value or {}
        return cls(days=value.get('days', 30), fraction=value.get('fraction', 0.33),
                   ari=value.get('ari', True))

    def renew_at(self, not_before, not_after):
        """The moment the days and fraction rules ask for renewal."""
        lifetime = not_after - not_before
        candidates = []
        if self.fraction is not None:
            candidates.append(not_after - lifetime * self.fraction)
        if self.days is not None:
            before = datetime.timedelta(days=self.days)
            if before < lifetime / 2:
                candidates.append(not_after - before)
        return min(candidates) if candidates else not_after

    def decide(self, not_before, not_after, now, ari_window_start=None):
        """(due, reason): a short sentence an operator can read in the job output."""
        if now >= not_after:
            return True, 'expired on %s' % not_after.strftime('%Y-%m-%d %H:%M UTC')
        if self.ari and ari_window_start is not None and now >= ari_window_start:
            return True, "inside the CA's suggested renewal window (ARI) since %s" % (
                ari_window_start.strftime('%Y-%m-%d %H:%M UTC'))
        at = self.renew_at(not_before, not_after)
        if now >= at:
            return True, 'due since %s (expires %s)' % (
                at.strftime('%Y-%m-%d %H:%M UTC'), not_after.strftime('%Y-%m-%d %H:%M UTC'))
        return False, 'valid until %s, due from %s' % (
            not_after.strftime('%Y-%m-%d %H:%M UTC'), at.strftime('%Y-%m-%d %H:%M UTC'))


_TRUE = ('true', 'yes', 'on', '1', 'y', 't')
_FALSE = ('false', 'no', 'off', '0', 'n', 'f', '')


def forced_names(value, names):
    """The certificate names ``force`` asks to renew now, out of ``names``.

    ``force`` is true (all of them), false, or a list of certificate names; from the
    command line it comes as a string: ``-e autotls_force=true`` or ``-e autotls_force=a,b``.
    A name that is not among ``names`` is refused, so that a typo renews nothing silently.
    """
    names = list(names)
    if value is None or value is False:
        return set()
    if value is True:
        return set(names)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _TRUE:
            return set(names)
        if text.lower() in _FALSE:
            return set()
        value = [part.strip() for part in text.split(',') if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError('force must be true, false or a list of certificate names, got %r' % (value,))
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise ConfigurationError(
            'force names %s, which %s not among the certificates of this run (%s): check the spelling'
            % (', '.join(unknown), 'is' if len(unknown) == 1 else 'are', ', '.join(sorted(names)) or 'none'))
    return set(value)
