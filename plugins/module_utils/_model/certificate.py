# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The declared certificate: one entry of ``autotls_certificates`` / ``autotls_host_certificates``.

Its keys come in three groups, and each component takes only its own:

- issuance keys, what ``autotls.acme.certificate`` issues with (ISSUANCE_KEYS);
- deploy keys, how ``cert_deploy`` writes the files on a host (DEPLOY_KEYS);
- server keys, how a server serves it (SERVER_KEYS: ``nginx``).

A key in none of them is an error naming the certificate and the key (a typo such as
``key_mod`` must not silently deploy a key with the default mode).

``validate_declared_certificate(entry, where)`` checks and normalises one entry;
``issuance_subset`` and ``deploy_subset`` give what each component takes.
"""

from __future__ import annotations

import difflib
import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.domains import normalize_domains
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import normalize_mode
from ansible_collections.autotls.acme.plugins.module_utils._model.names import validate_name
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import KEY_TYPES

CHALLENGES = ('dns-01', 'http-01')
DEFAULTS = {'challenge': 'dns-01', 'key_type': 'ec256'}

ISSUANCE_KEYS = ('name', 'domains', 'challenge', 'key_type', 'reuse_key', 'zone_id', 'profile',
                 'preferred_chain', 'force', 'hosts')
DEPLOY_KEYS = ('owner', 'group', 'mode', 'key_mode')
SERVER_KEYS = ('nginx',)
NGINX_KEYS = ('root', 'proxy_pass', 'extra')
ALL_KEYS = ISSUANCE_KEYS + DEPLOY_KEYS + SERVER_KEYS

_OWNER = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?')
# Values rendered into nginx: no white space, quotes, braces or ';' (each would end or open a directive).
_NGINX_UNSAFE = re.compile(r'[\s;{}"\'#\\]')
_URL = re.compile(r'https?://[^/\s]+(/\S*)?|unix:/\S+')


def _describe(name, where):
    label = 'Certificate %r' % (name,) if name is not None else 'A certificate'
    return label + (' in %s' % where if where else '')


def _bool(value, key, prefix):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'yes', 'on', '1', 'false', 'no', 'off', '0'):
        return value.lower() in ('true', 'yes', 'on', '1')
    raise ConfigurationError('%s: %s must be true or false, not %r.' % (prefix, key, value))


def _text(value, key, prefix):
    if not isinstance(value, str) or not value.strip() or re.search(r'[\r\n]', value):
        raise ConfigurationError('%s: %s must be a non-empty string on one line, not %r.' % (prefix, key, value))
    return value


def _owner(value, key, prefix):
    if isinstance(value, bool):
        pass
    elif isinstance(value, int) and value >= 0:
        return value
    elif isinstance(value, str) and (value.isdigit() or _OWNER.fullmatch(value)):
        return value
    raise ConfigurationError('%s: %s %r is not a user or group: give a name such as www-data, or a number.'
                             % (prefix, key, value))


def _unknown(keys, allowed, prefix, what):
    unknown = [k for k in keys if k not in allowed]
    if not unknown:
        return
    key = unknown[0]
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = ' (did you mean %r?)' % close[0] if close else ''
    raise ConfigurationError('%s: unknown key %r%s. %s' % (prefix, key, hint, what))


_KEYS_TEXT = ('A certificate takes issuance keys %s; deploy keys %s; server keys %s.'
              % (', '.join(ISSUANCE_KEYS), ', '.join(DEPLOY_KEYS), ', '.join(SERVER_KEYS)))


_SPACE = ' \t\r\n'


def stays_in_block(text):
    """Whether nginx, reading text inside a block, never leaves that block and closes all it opens.

    Read as nginx reads a file: a brace counts only between tokens (not inside quotes,
    after a backslash, inside a word such as ``a#b}``, nor as a variable's ``${...}``),
    ``#`` starts a comment only where a token could start, and no quote or escape may stay
    open (it would swallow the server block's own ``}``).
    """
    depth = 0
    quote = None            # the quote character of an open quoted string
    comment = escaped = word = variable = False
    for char in text:
        if escaped:
            escaped = False
        elif comment:
            comment = char != '\n'
        elif quote is not None:
            if char == '\\':
                escaped = True
            elif char == quote:
                quote = None
        elif word:
            # Inside a word '}', '#' and quotes are its characters; '${' opens a variable name.
            if char == '{' and variable:
                variable = False
                continue
            variable = char == '$'
            if char == '\\':
                escaped = True
            elif char in _SPACE or char == ';':
                word = False
            elif char == '{':
                word = False
                depth += 1
        elif char == '{':
            depth += 1
        elif char == '}':
            depth -= 1
            if depth < 0:
                return False
        elif char == '#':
            comment = True
        elif char in '"\'':
            quote = char
        elif char not in _SPACE and char != ';':
            word, variable, escaped = True, char == '$', char == '\\'
    return depth == 0 and quote is None and not escaped


def _nginx(value, prefix, label='nginx.'):
    """A certificate's nginx dict, or (label '') autotls_nginx_server_defaults, checked."""
    if value is None:
        return None
    what = label.rstrip('.') or prefix
    if not isinstance(value, dict):
        raise ConfigurationError('%s: %s must be a dict with %s, e.g. {proxy_pass: "http://127.0.0.1:8080"}, '
                                 'not %r.' % (prefix, what, ', '.join(NGINX_KEYS), value))
    _unknown(value, NGINX_KEYS, prefix + (', nginx' if label else ''),
             '%s takes %s.' % (what, ', '.join(NGINX_KEYS)))
    result = dict(value)
    if 'root' in value:
        root = value['root']
        if not isinstance(root, str) or not root.startswith('/') or _NGINX_UNSAFE.search(root):
            raise ConfigurationError('%s: %sroot %r must be an absolute directory without spaces, quotes, '
                                     'braces or ";".' % (prefix, label, root))
    if 'proxy_pass' in value:
        url = value['proxy_pass']
        if not isinstance(url, str) or _NGINX_UNSAFE.search(url) or not _URL.fullmatch(url):
            raise ConfigurationError('%s: %sproxy_pass %r must be one URL such as "http://127.0.0.1:8080", '
                                     'without spaces, quotes, braces or ";".' % (prefix, label, url))
    if 'extra' in value:
        extra = value['extra']
        if not (isinstance(extra, str) or (isinstance(extra, list) and all(isinstance(x, str) for x in extra))):
            raise ConfigurationError('%s: %sextra must be nginx directives, a list of lines or text, not %r.'
                                     % (prefix, label, extra))
        if not stays_in_block(extra if isinstance(extra, str) else '\n'.join(extra)):
            raise ConfigurationError('%s: %sextra %r has unbalanced braces or an open quote, as nginx reads it '
                                     '(a "}" after a "#" inside a word or inside a quoted string counts, or not, '
                                     'as nginx counts it): its directives must stay inside the certificate\'s '
                                     'server block.' % (prefix, label, extra))
    return result


def nginx_settings(settings):
    """Role variables written into nginx's configuration, ``{variable: value}``, checked; the same dict.

    A dict is what a TLS server serves (root, proxy_pass, extra, checked as a
    certificate's ``nginx``); a string, or each string of a list, is one value of a
    directive: no white space, quotes, braces, ``;``, ``#`` or backslash.
    """
    for variable, value in (settings or {}).items():
        if value is None:
            continue                # not set: nothing is written
        if isinstance(value, dict):
            _nginx(value, variable, label='')
            continue
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str) or _NGINX_UNSAFE.search(item):
                what = 'each value' if isinstance(value, list) else 'one value'
                raise ConfigurationError(
                    '%s: %r cannot be written into nginx\'s configuration: give %s without white space, quotes, '
                    'braces, ";", "#" or "\\".' % (variable, item, what))
    return settings


def validate_declared_certificate(entry, where=None):
    """Check one declared certificate and return it normalised (a new dict).

    where says where it was declared, for messages (``autotls_host_certificates of host
    app1``). Normalised: challenge and key_type filled in with their defaults, domains
    lower-cased and in xn-- form, modes as four-digit octal strings. Raises
    ConfigurationError naming the certificate, the key and the value.
    """
    if not isinstance(entry, dict):
        raise ConfigurationError('%s is %r, not a dict: give each certificate as name, domains, ... '
                                 '(e.g. {name: app1, domains: [app1.example.com]}).' % (_describe(None, where), entry))
    name = entry.get('name')
    validate_name(name, where)
    prefix = _describe(name, where)
    _unknown(entry, ALL_KEYS, prefix, _KEYS_TEXT)
    result = dict(entry)
    challenge = entry.get('challenge')
    if challenge is None:
        challenge = DEFAULTS['challenge']
    if challenge not in CHALLENGES:
        raise ConfigurationError('%s: challenge %r is not one of %s.' % (prefix, challenge, ', '.join(CHALLENGES)))
    result['challenge'] = challenge
    key_type = entry.get('key_type')
    if key_type is None:
        key_type = DEFAULTS['key_type']
    if key_type not in KEY_TYPES:
        raise ConfigurationError('%s: key_type %r is not one of %s.' % (prefix, key_type, ', '.join(KEY_TYPES)))
    result['key_type'] = key_type
    if 'domains' not in entry:
        raise ConfigurationError('%s: domains is missing: give a list of DNS names, e.g. [a.example.com].' % prefix)
    result['domains'] = normalize_domains(entry['domains'], name, challenge, where)
    for key in ('reuse_key', 'force'):
        if entry.get(key) is not None:
            result[key] = _bool(entry[key], key, prefix)
    for key in ('zone_id', 'profile', 'preferred_chain'):
        if entry.get(key) is not None:
            result[key] = _text(entry[key], key, prefix)
    if entry.get('hosts') is not None:
        hosts = entry['hosts']
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise ConfigurationError('%s: hosts must be a list of inventory host names, not %r.' % (prefix, hosts))
    for key in ('owner', 'group'):
        if entry.get(key) is not None:
            result[key] = _owner(entry[key], key, prefix)
    if entry.get('mode') is not None:
        result['mode'] = normalize_mode(entry['mode'], '%s: mode' % prefix)
    if entry.get('key_mode') is not None:
        result['key_mode'] = normalize_mode(entry['key_mode'], '%s: key_mode' % prefix, key=True)
    if 'nginx' in entry:
        result['nginx'] = _nginx(entry['nginx'], prefix)
    # Keys given as null mean "not set": drop them, so defaults apply downstream.
    return {k: v for k, v in result.items() if v is not None}


def _subset(entry, keys):
    return {k: v for k, v in entry.items() if k in keys}


def issuance_subset(entry):
    """What autotls.acme.certificate issues with: the issuance keys of a validated entry."""
    return _subset(entry, ISSUANCE_KEYS)


def deploy_subset(entry):
    """What cert_deploy needs: name plus the deploy keys of a validated entry."""
    return _subset(entry, ('name',) + DEPLOY_KEYS)


def server_subset(entry):
    """What a server role needs: name, domains and the server keys of a validated entry."""
    return _subset(entry, ('name', 'domains') + SERVER_KEYS)


def identity(entry):
    """The settings that must agree when two places declare the same certificate name."""
    return {
        'domains': sorted(entry['domains']),
        'challenge': entry.get('challenge', DEFAULTS['challenge']),
        'key_type': entry.get('key_type', DEFAULTS['key_type']),
    }
