# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File modes of certificates and keys: quoted octal strings, nothing else.

YAML reads an unquoted ``660`` as the decimal number 660 (mode ``01224``: world-readable,
sticky) and ``0640`` as 416, so a number is never taken as a mode: the message says to
quote it. Accepted: ``"0640"`` or ``"640"``, at most ``0777`` (no set-id or sticky bits).
A private key's mode may give nothing to "other" users.

Standard library only: also used on hosts through the cert_files module.
"""

from __future__ import annotations

import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

_OCTAL_MODE = re.compile(r'0?[0-7]{3}')
EXAMPLE = '"0640"'


def _what(where):
    return 'File mode' if not where else where


def parse_mode(mode, where=None, key=False):
    """'0640' or '640' -> 0o640; anything else raises ConfigurationError naming where it is.

    where names the setting (``key_mode of certificate 'app1'``, ``autotls_key_mode``);
    key=True also refuses a mode that gives "other" users any access.
    """
    what = _what(where)
    if isinstance(mode, bool) or mode is None:
        raise ConfigurationError('%s is %r, not a mode: give a quoted octal string, e.g. %s.' % (what, mode, EXAMPLE))
    if isinstance(mode, int):
        raise ConfigurationError(
            '%s is the number %d, not a quoted string: quote it, e.g. %s (YAML reads an unquoted 660 as the '
            'decimal number 660, which is mode %s, and 0640 as %d).' % (what, mode, EXAMPLE, '0%o' % 660, 0o640))
    if not isinstance(mode, str) or not _OCTAL_MODE.fullmatch(mode):
        raise ConfigurationError(
            '%s %r is not an octal mode of at most 0777: give a quoted octal string such as %s '
            '(symbolic modes like u=rw,g=r and set-id or sticky bits are not supported here).' % (what, mode, EXAMPLE))
    value = int(mode, 8)
    if key and value & 0o007:
        raise ConfigurationError(
            '%s %r gives every user on the host access to the private key: use "0600", or "0640" with a group '
            'that may read it.' % (what, mode))
    return value


def normalize_mode(mode, where=None, key=False):
    """The mode as a four-digit octal string ('640' -> '0640'), checked as parse_mode does."""
    return '%04o' % parse_mode(mode, where, key)
