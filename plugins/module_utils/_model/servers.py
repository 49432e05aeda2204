# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a host serves its certificates with: ``autotls_servers``, checked and normalised.

Each entry is a kind name (``nginx``) or a dict ``{kind: haproxy, ...settings}``; the
kinds and their settings are described once, in ``_deploy.kinds``. An entry's ``name``
(default: its kind) tells two servers of one kind apart and names it in messages. A bad
entry is refused before anything changes on the host, naming the entry, the value and
what to change.
"""

from __future__ import annotations

import difflib

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import (
    KINDS, LABEL_RULE, kind_names, server_label_ok,
)

VARIABLE = 'autotls_servers'
DEFAULT = ['nginx']


def _suggest(value, choices):
    close = difflib.get_close_matches(str(value), choices, n=1)
    return " (did you mean '%s'?)" % close[0] if close else ''


def _entry(value, index, where):
    label = '%s[%d]' % (where, index)
    if isinstance(value, str):
        value = {'kind': value}
    if not isinstance(value, dict):
        raise ConfigurationError('%s must be a server kind (%s) or a dict with kind and its settings, got %r.'
                                 % (label, ', '.join(kind_names()), value))
    kind = value.get('kind')
    if kind not in KINDS:
        raise ConfigurationError('%s: unknown server kind %r%s; use one of %s.'
                                 % (label, kind, _suggest(kind, kind_names()), ', '.join(kind_names())))
    handler = KINDS[kind]
    name = value.get('name', kind)
    if not server_label_ok(name):
        raise ConfigurationError('%s: name %r must be %s.' % (label, name, LABEL_RULE))
    allowed = ['kind', 'name'] + list(handler.OPTIONS)
    unknown = [key for key in value if key not in allowed]
    if unknown:
        raise ConfigurationError("%s (server '%s', kind %s): unknown key %r%s; a %s server takes %s."
                                 % (label, name, kind, unknown[0], _suggest(unknown[0], allowed), kind,
                                    ', '.join(sorted(allowed))))
    return handler.normalize(value, name)


def validate_servers(value, where=VARIABLE, defaults=None):
    """The normalised servers of a host (a list of dicts; see ``_deploy.kinds``).

    ``value`` None or empty gives the default, ``[nginx]``. ``defaults`` ({kind: {option:
    value}}) are settings used where an entry does not give its own (the role's older
    variables, such as ``autotls_deploy_validate_command`` for nginx).
    """
    if value is None or value == '' or value == []:
        value = list(DEFAULT)
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        raise ConfigurationError('%s must be a list of servers such as [nginx] or [nginx, {kind: haproxy}], got %r.'
                                 % (where, value))
    servers, seen = [], {}
    for index, entry in enumerate(value):
        if isinstance(entry, (str, dict)) and defaults:
            kind = entry if isinstance(entry, str) else entry.get('kind')
            if isinstance(kind, str) and kind in defaults:
                entry = dict(defaults[kind], **({'kind': kind} if isinstance(entry, str) else entry))
        server = _entry(entry, index, where)
        if server['name'] in seen:
            raise ConfigurationError("%s[%d]: a second server named '%s' (the first is %s[%d]); give one of them "
                                     'another name.' % (where, index, server['name'], where, seen[server['name']]))
        seen[server['name']] = index
        servers.append(server)
    return servers
