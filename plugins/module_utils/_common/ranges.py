# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Range checks of numeric options, with messages that name the option."""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

# RFC 2181 section 8: a TTL is an unsigned 31-bit number of seconds.
TTL_RANGE = (1, 2147483647)
PORT_RANGE = (1, 65535)
POSITIVE = (1, None)


def check_range(option, value, minimum=None, maximum=None, unit=None, exclusive_minimum=False):
    """Raise a :class:`ConfigurationError` naming ``option`` when ``value`` lies outside.

    ``None`` (an option not given) passes. Booleans are not numbers here.
    ``exclusive_minimum``: the value must be more than ``minimum`` (a timeout in seconds
    may be a fraction, but not 0).
    """
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError('%s must be a number, got %r' % (option, value), option=option)
    unit = ' %s' % unit if unit else ''
    if exclusive_minimum and minimum is not None and (value <= minimum or (maximum is not None and value > maximum)):
        raise ConfigurationError('%s must be more than %s%s, got %r'
                                 % (option, minimum, (' and at most %s' % maximum if maximum is not None else '') + unit,
                                    value), option=option)
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise ConfigurationError('%s must be between %s and %s%s, got %r'
                                 % (option, minimum, maximum, unit, value), option=option)
    if minimum is not None and value < minimum:
        raise ConfigurationError('%s must be at least %s%s, got %r' % (option, minimum, unit, value),
                                 option=option)
    if maximum is not None and value > maximum:
        raise ConfigurationError('%s must be at most %s%s, got %r' % (option, maximum, unit, value),
                                 option=option)
    return value


def check_ranges(params, limits):
    """``limits``: option -> (minimum, maximum[, unit]); checks each option of ``params``."""
    for option, limit in limits.items():
        check_range(option, params.get(option), *limit)
