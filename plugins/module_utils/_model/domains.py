# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DNS names of a certificate: validated and normalised before anyone uses them.

A domain reaches the CA, Route53, reports and nginx's ``server_name``; it must be a DNS
name and nothing else. The rule:

- letters, digits and hyphens (LDH) in labels of 1 to 63 characters, no hyphen at either
  end of a label, at most 253 characters in all;
- lower-cased, one trailing dot dropped; duplicates dropped (first one kept);
- a wildcard only as the whole leftmost label (``*.qa1.example.com``), and only with
  ``challenge: dns-01`` (HTTP-01 cannot prove a wildcard);
- internationalised names are converted to their ``xn--`` form (IDNA 2008 through the
  ``idna`` package, which requests already needs; without it they are refused, saying so);
- the last label is not all digits (an IP address is not a DNS name here);
- ``domains`` is a list: a string is refused (a string would be split on commas by one
  component and rendered one character at a time by another).
"""

from __future__ import annotations

import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

try:
    import idna
    HAS_IDNA = True
except ImportError:  # pragma: no cover - only non-ASCII names need it
    HAS_IDNA = False

MAX_LENGTH = 253
_LABEL = re.compile(r'[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?')
_DIGITS = re.compile(r'[0-9]+')


def _prefix(certificate, where=None):
    # Names outside a certificate (autotls_nginx_server_names) are named by their setting alone.
    if certificate is None and where:
        return where
    label = 'Certificate %r' % (certificate,) if certificate is not None else 'A certificate'
    return label + (' in %s' % where if where else '')


def _to_ascii(name, certificate, where):
    if name.isascii():
        return name
    if not HAS_IDNA:
        raise ConfigurationError(
            '%s: domain %r is not ASCII and the Python package idna (IDNA 2008) is not installed on the controller '
            'to convert it: install idna, or give the name in its xn-- form.' % (_prefix(certificate, where), name))
    try:
        return idna.encode(name, uts46=True).decode('ascii')
    except idna.IDNAError as exc:
        raise ConfigurationError('%s: domain %r is not a valid internationalised name (IDNA 2008: %s); give it in '
                                 'its xn-- form or correct it.' % (_prefix(certificate, where), name, exc)) from None


def _check_alabels(labels, value, certificate, where):
    """An xn-- label given as is must decode (IDNA 2008), or the CA would refuse the order later."""
    if not HAS_IDNA:
        return
    for label in labels:
        if label.startswith('xn--'):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError) as exc:
                raise ConfigurationError('%s: domain %r has the label %r, which is not a valid internationalised '
                                         'name (IDNA 2008: %s); correct it.'
                                         % (_prefix(certificate, where), value, label, exc)) from None


def normalize_domain(value, certificate=None, challenge=None, where=None):
    """One domain, lower-cased, without a trailing dot, in xn-- form; ConfigurationError otherwise.

    A wildcard is refused when challenge is 'http-01' (any other challenge, or None, allows it).
    """
    prefix = _prefix(certificate, where)
    if not isinstance(value, str):
        raise ConfigurationError('%s: domain %r is not a string: give DNS names, e.g. [app1.example.com].'
                                 % (prefix, value))
    if value == '' or value == '.':
        raise ConfigurationError('%s: domain %r is empty: give DNS names, e.g. [app1.example.com].' % (prefix, value))
    if re.search(r'\s', value):
        raise ConfigurationError('%s: domain %r contains white space: a DNS name has letters, digits, hyphens and '
                                 'dots only; give each name as its own list item.' % (prefix, value))
    name = value[:-1] if value.endswith('.') else value
    wildcard = name.startswith('*.')
    body = name[2:] if wildcard else name
    if '*' in body:
        raise ConfigurationError('%s: domain %r has a "*" that is not the whole leftmost label: a wildcard is written '
                                 '*.example.com, nothing else.' % (prefix, value))
    body = _to_ascii(body, certificate, where).lower()
    labels = body.split('.')
    for label in labels:
        if not _LABEL.fullmatch(label):
            if label == '':
                problem = 'has an empty label (two dots in a row, or a leading dot)'
            elif len(label) > 63:
                problem = 'has a label of %d characters (at most 63)' % len(label)
            elif label.startswith('-') or label.endswith('-'):
                problem = 'has a label %r that starts or ends with a hyphen' % label
            else:
                problem = 'has a label %r with a character other than a letter, digit or hyphen' % label
            raise ConfigurationError('%s: domain %r %s: a DNS name is dot-separated labels of 1 to 63 letters, digits '
                                     'and hyphens.' % (prefix, value, problem))
    _check_alabels(labels, value, certificate, where)
    if _DIGITS.fullmatch(labels[-1]):
        raise ConfigurationError('%s: domain %r ends in a numeric label: IP addresses are not supported, give a DNS '
                                 'name.' % (prefix, value))
    result = ('*.' if wildcard else '') + body
    if len(result) > MAX_LENGTH:
        raise ConfigurationError('%s: domain %r is %d characters long; a DNS name has at most %d.'
                                 % (prefix, value, len(result), MAX_LENGTH))
    if wildcard and challenge == 'http-01':
        raise ConfigurationError('%s: %s is a wildcard, which HTTP-01 cannot prove; use challenge: dns-01.'
                                 % (prefix, result))
    return result


def normalize_domains(value, certificate=None, challenge=None, where=None):
    """The list of domains, each normalised, duplicates dropped; ConfigurationError otherwise."""
    prefix = _prefix(certificate, where)
    if isinstance(value, str):
        raise ConfigurationError('%s: domains must be a list, e.g. [a.example.com], not the string %r.'
                                 % (prefix, value))
    if not isinstance(value, (list, tuple)):
        raise ConfigurationError('%s: domains must be a list, e.g. [a.example.com], not %r.' % (prefix, value))
    if not value:
        raise ConfigurationError('%s: domains is empty: give at least one DNS name, e.g. [a.example.com].' % prefix)
    result = []
    for item in value:
        name = normalize_domain(item, certificate, challenge, where)
        if name not in result:
            result.append(name)
    return result
