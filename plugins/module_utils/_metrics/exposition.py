# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Prometheus text exposition format (version 0.0.4), written by hand.

Standard library only: the host's textfile is rendered on the host by the
metrics_textfile module, where nothing but Python and Ansible is installed. Used for the
node_exporter textfile and for the body pushed to a Pushgateway alike.

A :class:`Family` is one metric name with its ``# HELP`` and ``# TYPE`` lines and its
samples (a label dict and a value each). Names and label names are checked against the
format's grammar; label values are escaped (backslash, double quote, newline) so that
nothing a certificate carries (an issuer's name, say) can break a line.
"""

from __future__ import annotations

import math
import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
TYPES = ('gauge', 'counter', 'untyped')
_METRIC_NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
_LABEL_NAME = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')


def check_metric_name(name):
    if not isinstance(name, str) or not _METRIC_NAME.fullmatch(name):
        raise ConfigurationError('%r is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)' % (name,))
    return name


def check_label_name(name):
    if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name) or name.startswith('__'):
        raise ConfigurationError('%r is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)'
                                 % (name,))
    return name


def escape_label_value(value):
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _escape_help(text):
    return str(text).replace('\\', '\\\\').replace('\n', '\\n')


def format_value(value):
    """A sample value as the format writes it: integers without a fraction, +Inf, -Inf, NaN."""
    if isinstance(value, bool):
        return '1' if value else '0'
    value = float(value)
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return '+Inf' if value > 0 else '-Inf'
    if value == int(value) and abs(value) < 1e15:
        return '%d' % int(value)
    return repr(value)


class Family:
    """One metric: name, type, help text and samples ``(labels, value)``."""

    def __init__(self, name, help_text, metric_type='gauge'):
        self.name = check_metric_name(name)
        if metric_type not in TYPES:
            raise ConfigurationError('metric type must be one of %s, not %r' % (', '.join(TYPES), metric_type))
        self.help = help_text
        self.type = metric_type
        self.samples = []

    def add(self, value, **labels):
        """Add a sample; a value of None adds nothing (a fact that is not known)."""
        if value is None:
            return self
        for label in labels:
            check_label_name(label)
        self.samples.append((dict(labels), value))
        return self

    def lines(self):
        out = ['# HELP %s %s' % (self.name, _escape_help(self.help)), '# TYPE %s %s' % (self.name, self.type)]
        for labels, value in self.samples:
            text = ','.join('%s="%s"' % (key, escape_label_value(labels[key])) for key in sorted(labels))
            out.append('%s%s %s' % (self.name, '{%s}' % text if text else '', format_value(value)))
        return out


def render(families):
    """The exposition text of ``families`` (those without samples are left out), newline-terminated."""
    seen = set()
    lines = []
    for family in families:
        if family.name in seen:
            raise ConfigurationError('metric %s is listed twice' % family.name)
        seen.add(family.name)
        if family.samples:
            lines.extend(family.lines())
    return '\n'.join(lines) + '\n' if lines else ''
