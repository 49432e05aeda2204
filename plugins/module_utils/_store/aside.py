# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Move a certificate's set out of the store's ``certs/`` and keep it beside, for the record.

A revoked certificate (``revoked/``) or one no host declares any more (``retired/``)
must not be deployed, renewed or checked again, but its files stay: what was served,
until when, with which key. ``<store>/certs/<name>/`` becomes
``<store>/<kind>/<name>/<label>/`` in one rename (the same file system), so a run that
stops half-way finds the set in one place or the other, whole.
"""

from __future__ import annotations

import os

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.names import validate_name

KINDS = ('revoked', 'retired')
ASIDE_DIR_MODE = 0o700


def aside_path(certs_dir, kind, name, label):
    if kind not in KINDS:
        raise ConfigurationError('kind must be one of %s, got %r' % (', '.join(KINDS), kind))
    validate_name(name)
    if not label or '/' in label or label in ('.', '..'):
        raise ConfigurationError('label %r must be a plain name (a serial number, a date)' % (label,))
    store = os.path.dirname(os.path.abspath(certs_dir.rstrip('/')))
    return os.path.join(store, kind, name, label)


def set_aside(certs_dir, name, kind, label, check_mode=False):
    """Move ``<certs_dir>/<name>`` to ``<store>/<kind>/<name>/<label>``; returns the new path.

    A label already used gets ``-2``, ``-3``... so nothing set aside before is overwritten.
    """
    source = os.path.join(certs_dir, name)
    target = aside_path(certs_dir, kind, name, label)
    if not os.path.isdir(source) or os.path.islink(source):
        raise AutoTLSError('%s is not a certificate directory of the store' % source)
    candidate, number = target, 1
    while os.path.lexists(candidate):
        number += 1
        candidate = '%s-%d' % (target, number)
    if check_mode:
        return candidate
    parent = os.path.dirname(candidate)
    os.makedirs(parent, mode=ASIDE_DIR_MODE, exist_ok=True)
    try:
        os.rename(source, candidate)
    except OSError as exc:
        raise AutoTLSError('Could not move %s to %s: %s' % (source, candidate, exc.strerror or exc)) from None
    return candidate
