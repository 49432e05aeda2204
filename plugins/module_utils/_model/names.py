# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one rule for a certificate's name.

A name becomes a directory on the controller and on every host (``<dir>/<name>/``), part
of an nginx file name (``autotls-tls-<name>.conf``) and a key in reports. So it is a plain
file name: 1 to 64 characters, letters, digits, ``.``, ``_`` and ``-``, starting with a
letter or a digit (never ``.``: no hidden or relative directory, never ``-``: no option
for a command). Checked with ``re.fullmatch``: a trailing newline is not allowed either.

Standard library only: also used on hosts through the cert_files module.
"""

from __future__ import annotations

import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

MAX_LENGTH = 64
NAME_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,%d}' % (MAX_LENGTH - 1))
RULE = ("letters, digits, '.', '_' and '-', starting with a letter or a digit, at most %d characters"
        % MAX_LENGTH)


def is_valid_name(name):
    """Whether name is a certificate name (a str that fully matches the rule)."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def validate_name(name, where=None):
    """The name unchanged, or ConfigurationError naming the value, where it is and the rule."""
    if is_valid_name(name):
        return name
    if name is None or name == '':
        problem = 'has no name'
    else:
        problem = 'has the name %r, which is not a plain file name' % (name,)
    raise ConfigurationError('A certificate%s %s: use %s (e.g. app1.example.com or qa1-wildcard).'
                             % (' in %s' % where if where else '', problem, RULE))
