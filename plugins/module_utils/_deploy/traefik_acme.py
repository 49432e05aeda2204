# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Traefik's static configuration for its own ACME resolver, from checked role variables.

Traefik issues and renews by itself (its ACME client is lego); the collection only sets it
up: entry points on the host's address, a certificate resolver whose ``caServer`` is the
CA's ACME directory (the same ``autotls_acme_directory`` the collection issues with), the
HTTP-01 or TLS-ALPN-01 challenge on those entry points, and the file provider's directory
(where routers, and the ``traefik`` server kind's TLS file, go). The CA's root is trusted
through the host's trust store (role ``ca_trust``; Traefik reads the system pool) or, for
this resolver only, through ``caCertificates``.

``static_config(variables)`` takes ``{role variable: value}`` and returns the document to
write as YAML; every error names the variable and the value.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re

from ansible_collections.autotls.acme.plugins.module_utils._acme.session import DIRECTORY_ALIASES
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import KEY_TYPES as COLLECTION_KEY_TYPES

# The role variable of each setting (ROLE_VARIABLES[setting] = variable).
ROLE_VARIABLES = {
    'directory': 'autotls_acme_directory',
    'email': 'autotls_account_email',
    'resolver': 'autotls_traefik_acme_resolver',
    'challenge': 'autotls_traefik_acme_challenge',
    'key_type': 'autotls_traefik_acme_key_type',
    'certificates_duration': 'autotls_traefik_acme_certificates_duration',
    'storage': 'autotls_traefik_acme_storage',
    'ca_certificates': 'autotls_traefik_acme_ca_certificates',
    'listen_address': 'autotls_traefik_listen_address',
    'http_port': 'autotls_traefik_http_port',
    'https_port': 'autotls_traefik_https_port',
    'dynamic_dir': 'autotls_traefik_dynamic_dir',
    'extra': 'autotls_traefik_static_extra',
}
REQUIRED = ('directory',)
CHALLENGES = {'http-01': 'httpChallenge', 'tls-alpn-01': 'tlsChallenge'}
# The collection's key types as Traefik names them (ec256 -> EC256, rsa2048 -> RSA2048).
KEY_TYPES = {key_type: key_type.upper() for key_type in COLLECTION_KEY_TYPES}
WEB, WEBSECURE = 'web', 'websecure'
# Top-level keys the role writes itself; autotls_traefik_static_extra may add any other.
OWN_KEYS = ('global', 'entryPoints', 'providers', 'certificatesResolvers')

_RESOLVER = re.compile(r'[A-Za-z][A-Za-z0-9_-]{0,62}')
_EMAIL = re.compile(r'[^@\s"\'\\]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+')
_URL = re.compile(r'https://[A-Za-z0-9.\[\]:_-]+(/[^\s"\'\\]*)?')


def _fail(setting, value, rule):
    raise ConfigurationError('%s is %r: %s' % (ROLE_VARIABLES[setting], value, rule))


def _path(setting, value):
    if (not isinstance(value, str) or not posixpath.isabs(value) or posixpath.normpath(value) != value
            or re.search(r'[\s"\'\\]', value)):
        _fail(setting, value, 'use an absolute, normalised path without blanks or quotes (e.g. /etc/traefik/acme.json).')
    return value


def _port(setting, value):
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        _fail(setting, value, 'use a TCP port number, 1 to 65535.')
    return value


def _directory(value):
    url = DIRECTORY_ALIASES.get(value, value) if isinstance(value, str) else value
    if not isinstance(url, str) or not _URL.fullmatch(url):
        _fail('directory', value, 'use the https:// URL of the CA\'s ACME directory (for step-ca '
              'https://<ca>/acme/<provisioner>/directory) or one of %s.' % ', '.join(sorted(DIRECTORY_ALIASES)))
    return url


def _address(value):
    if value in ('', None):
        return ''
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        _fail('listen_address', value, "use one IP address of the host (e.g. 10.0.0.5), or '' for all of them.")
    return '[%s]' % address if address.version == 6 else str(address)


def _duration(value):
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail('certificates_duration', value, "use the CA's certificate lifetime in whole hours (24 for step-ca's "
              'default, 2160 for 90 days): Traefik derives when to renew from it.')
    return value


def _extra(value):
    if value in (None, ''):
        return {}
    if not isinstance(value, dict):
        _fail('extra', value, 'use a mapping of further top-level keys of Traefik\'s static configuration.')
    taken = sorted(key for key in value if key in OWN_KEYS)
    if taken:
        raise ConfigurationError('%s sets %s, which the role writes itself from its own variables (%s): '
                                 'set those instead.' % (ROLE_VARIABLES['extra'], ', '.join(taken),
                                                         ', '.join(sorted(ROLE_VARIABLES.values()))))
    return dict(value)


def settings_from(variables):
    """Check `variables` ({role variable: value}); returns {setting: checked value}."""
    by_variable = {variable: setting for setting, variable in ROLE_VARIABLES.items()}
    unknown = sorted(set(variables) - set(by_variable))
    if unknown:
        raise ConfigurationError('traefik_static_config: unknown variable(s) %s; known: %s.'
                                 % (', '.join(unknown), ', '.join(sorted(by_variable))))
    raw = {by_variable[variable]: value for variable, value in variables.items()}
    for setting in REQUIRED:
        if raw.get(setting) in (None, ''):
            raise ConfigurationError('%s is not set: Traefik\'s resolver needs the CA\'s ACME directory URL.'
                                     % ROLE_VARIABLES[setting])
    out = {'directory': _directory(raw['directory'])}
    email = raw.get('email') or ''
    if email and (not isinstance(email, str) or not _EMAIL.fullmatch(email)):
        _fail('email', email, 'use one e-mail address (e.g. ops@example.com), or leave it empty.')
    out['email'] = email
    resolver = raw.get('resolver', 'autotls')
    if not isinstance(resolver, str) or not _RESOLVER.fullmatch(resolver):
        _fail('resolver', resolver, "use letters, digits, '_' and '-', starting with a letter; routers name it "
              'in tls.certResolver.')
    out['resolver'] = resolver
    challenge = raw.get('challenge', 'http-01')
    if challenge not in CHALLENGES:
        _fail('challenge', challenge, 'use %s.' % ' or '.join(CHALLENGES))
    out['challenge'] = challenge
    key_type = raw.get('key_type', 'ec256')
    if key_type not in KEY_TYPES:
        _fail('key_type', key_type, 'use one of %s.' % ', '.join(KEY_TYPES))
    out['key_type'] = key_type
    out['certificates_duration'] = _duration(raw.get('certificates_duration', 24))
    out['storage'] = _path('storage', raw.get('storage', '/etc/traefik/acme.json'))
    out['dynamic_dir'] = _path('dynamic_dir', raw.get('dynamic_dir', '/etc/traefik/dynamic'))
    roots = raw.get('ca_certificates') or []
    if isinstance(roots, str) or not isinstance(roots, list):
        _fail('ca_certificates', roots, 'use a list of absolute paths of PEM files, or [] for the trust store.')
    out['ca_certificates'] = [_path('ca_certificates', path) for path in roots]
    out['listen_address'] = _address(raw.get('listen_address', ''))
    out['http_port'] = _port('http_port', raw.get('http_port', 80))
    out['https_port'] = _port('https_port', raw.get('https_port', 443))
    if out['http_port'] == out['https_port']:
        _fail('https_port', out['https_port'], 'use another port than %s (%d).'
              % (ROLE_VARIABLES['http_port'], out['http_port']))
    out['extra'] = _extra(raw.get('extra'))
    return out


def static_config(variables):
    """Traefik's static configuration (a dict to write as YAML) from the role variables."""
    settings = settings_from(variables)
    address = settings['listen_address']
    acme = {
        'caServer': settings['directory'],
        'storage': settings['storage'],
        'keyType': KEY_TYPES[settings['key_type']],
        'certificatesDuration': settings['certificates_duration'],
    }
    if settings['email']:
        acme['email'] = settings['email']
    if settings['ca_certificates']:
        acme['caCertificates'] = settings['ca_certificates']
    if settings['challenge'] == 'http-01':
        # Port 80 of the address the CA resolves the name to: the `web` entry point.
        acme['httpChallenge'] = {'entryPoint': WEB}
    else:
        # Port 443 of that address: the `websecure` entry point answers the ALPN challenge.
        acme['tlsChallenge'] = {}
    config = {
        # An internal network has no route to Traefik's release and usage servers.
        'global': {'checkNewVersion': False, 'sendAnonymousUsage': False},
        'entryPoints': {
            WEB: {'address': '%s:%d' % (address, settings['http_port'])},
            WEBSECURE: {'address': '%s:%d' % (address, settings['https_port'])},
        },
        'providers': {'file': {'directory': settings['dynamic_dir'], 'watch': True}},
        'certificatesResolvers': {settings['resolver']: {'acme': acme}},
    }
    config.update(settings['extra'])
    return config
