# -*- coding: utf-8 -*-
# Copyright: autotls.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory model: certificates are declared where they are served.

``autotls_certificates`` (usually from group_vars) and ``autotls_host_certificates``
(host_vars) of every targeted host are gathered, deduplicated by ``name`` and given the
list of hosts that serve each one.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

SOURCES = ('autotls_certificates', 'autotls_host_certificates')
# Settings that must agree when two hosts declare the same certificate name.
_IDENTITY = ('domains', 'challenge', 'key_type')
_DEFAULTS = {'challenge': 'dns-01', 'key_type': 'ec256'}


def _identity(cert):
    ident = {}
    for field in _IDENTITY:
        value = cert.get(field, _DEFAULTS.get(field))
        if field == 'domains':
            value = sorted(d.strip().lower().rstrip('.') for d in (value or []))
        ident[field] = value
    return ident


def gather_certificates(hostvars, hosts):
    """[{name, domains, ..., hosts: [...]}] in first-seen order; conflicting declarations raise."""
    found = {}
    origin = {}
    for host in hosts:
        variables = hostvars[host]
        for source in SOURCES:
            declared = variables.get(source) or []
            if not isinstance(declared, list):
                raise ConfigurationError('%s of host %s must be a list of certificates, got %s'
                                         % (source, host, type(declared).__name__))
            for cert in declared:
                if not isinstance(cert, dict) or not cert.get('name') or not cert.get('domains'):
                    raise ConfigurationError(
                        'Every entry of %s (host %s) needs a name and a list of domains; got %r'
                        % (source, host, cert))
                name = cert['name']
                if name not in found:
                    entry = dict(cert)
                    entry['hosts'] = [host]
                    found[name] = entry
                    origin[name] = (host, source)
                    continue
                if _identity(found[name]) != _identity(cert):
                    first_host, first_source = origin[name]
                    raise ConfigurationError(
                        'Certificate %r is declared twice with different settings: %s on host %s '
                        'has %s, %s on host %s has %s. Give one of them another name, or make them agree.'
                        % (name, first_source, first_host, _identity(found[name]),
                           source, host, _identity(cert)))
                if host not in found[name]['hosts']:
                    found[name]['hosts'].append(host)
    return list(found.values())
