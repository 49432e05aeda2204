# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory model: certificates are declared where they are served.

A host serves the certificates of ``autotls_host_certificates`` (its host_vars) and of
``autotls_certificates`` (its groups' group_vars), one per name. When both declare the same
name, the host's entry wins, whole (as host_vars win over group_vars in Ansible).

Across hosts, the declarations are gathered and deduplicated by ``name``, each with the
list of hosts that serve it; the same name with other domains, challenge or key type on
two hosts is an error naming both. Every entry is validated by
``_model.certificate.validate_declared_certificate`` first.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.certificate import (
    identity,
    validate_declared_certificate,
)

HOST_SOURCE = 'autotls_host_certificates'
GROUP_SOURCE = 'autotls_certificates'
# In order of precedence: the host's own declarations win.
SOURCES = (HOST_SOURCE, GROUP_SOURCE)


def _where(source, host):
    return '%s of host %s' % (source, host) if host else source


def _declared(value, source, host):
    if value is None or value == '':
        return []
    if not isinstance(value, list):
        raise ConfigurationError('%s must be a list of certificates, e.g. [{name: app1, domains: [app1.example.com]}], '
                                 'got %s %r.' % (_where(source, host), type(value).__name__, value))
    entries = []
    names = set()
    for item in value:
        entry = validate_declared_certificate(item, _where(source, host))
        if entry['name'] in names:
            raise ConfigurationError('Certificate %r is declared twice in %s: give one of them another name, or '
                                     'remove one.' % (entry['name'], _where(source, host)))
        names.add(entry['name'])
        entry_source = (source, host)
        entries.append((entry, entry_source))
    return entries


def _host_entries(host_certificates, group_certificates, host):
    """[(entry, (source, host))]: the host's own first, then its groups' not overridden."""
    own = _declared(host_certificates, HOST_SOURCE, host)
    taken = set(e['name'] for e, _src in own)
    groups = [(e, src) for e, src in _declared(group_certificates, GROUP_SOURCE, host) if e['name'] not in taken]
    return own + groups


def host_certificates(host_certificates, group_certificates=None, host=None):
    """What one host serves: validated entries, its own first, then its groups' (host wins on a name)."""
    return [entry for entry, _src in _host_entries(host_certificates, group_certificates, host)]


def gather_certificates(hostvars, hosts):
    """[{name, domains, ..., hosts: [...]}] in first-seen order; conflicting declarations raise."""
    found = {}
    origin = {}
    for host in hosts:
        variables = hostvars[host]
        for cert, (source, _host) in _host_entries(variables.get(HOST_SOURCE), variables.get(GROUP_SOURCE), host):
            name = cert['name']
            if name not in found:
                entry = dict(cert)
                entry['hosts'] = [host]
                found[name] = entry
                origin[name] = (host, source)
                continue
            if identity(found[name]) != identity(cert):
                first_host, first_source = origin[name]
                raise ConfigurationError(
                    'Certificate %r is declared twice with different settings: %s on host %s '
                    'has %s, %s on host %s has %s. Give one of them another name, or make them agree.'
                    % (name, first_source, first_host, identity(found[name]),
                       source, host, identity(cert)))
            if host not in found[name]['hosts']:
                found[name]['hosts'].append(host)
    return list(found.values())
