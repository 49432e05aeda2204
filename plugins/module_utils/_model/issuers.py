# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CAs certificates are ordered from, in order: ``autotls_issuers``.

Each issuer is one ACME CA and one account there: its directory, account key, External
Account Binding, how its endpoint is trusted (a CA bundle, or the fingerprint of its
root) and an optional profile. A certificate is ordered from the first issuer; when the
order fails on the CA's side it is ordered from the next one in the same run.

``autotls_acme_directory`` and its companion settings (``autotls_acme_ca_bundle``,
``autotls_ca_root_fingerprint``, ``autotls_account_key_src``, ...) are the one-issuer
form: they mean a list of one issuer, and go through the same checks.

``validate_issuers(value)`` checks and normalises the list (unknown keys named, bad
values said what to change); ``issuers_from_settings`` makes it from either form.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.certificate import _bool, _text, _unknown
from ansible_collections.autotls.acme.plugins.module_utils._model.names import is_valid_name

# Short names operators can use for a directory.
DIRECTORY_ALIASES = {
    'letsencrypt': 'https://acme-v02.api.letsencrypt.org/directory',
    'letsencrypt_staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
    'zerossl': 'https://acme.zerossl.com/v2/DV90',
}

ISSUER_KEYS = ('name', 'directory', 'account_key_src', 'account_key_content', 'account_key_passphrase',
               'account_key_pending', 'account_email', 'terms_agreed', 'eab_kid', 'eab_hmac_key', 'eab_alg', 'ca_bundle',
               'fingerprint', 'ca_url', 'profile')
SECRET_KEYS = ('account_key_content', 'account_key_passphrase', 'eab_hmac_key')
EAB_ALGS = ('HS256', 'HS384', 'HS512')

# The one-issuer form: role variable -> issuer key.
SINGLE_FORM = {
    'autotls_acme_directory': 'directory',
    'autotls_acme_ca_bundle': 'ca_bundle',
    'autotls_ca_root_fingerprint': 'fingerprint',
    'autotls_ca_url': 'ca_url',
    'autotls_account_key_src': 'account_key_src',
    'autotls_account_key_content': 'account_key_content',
    'autotls_account_key_passphrase': 'account_key_passphrase',
    'autotls_eab_kid': 'eab_kid',
    'autotls_eab_hmac_key': 'eab_hmac_key',
    'autotls_profile': 'profile',
}
# Settings of every issuer that does not set its own.
SHARED = {'autotls_account_email': 'account_email', 'autotls_terms_agreed': 'terms_agreed'}

_HEX64 = re.compile(r'[0-9a-f]{64}')
_EXAMPLE = ('e.g. autotls_issuers: [{directory: letsencrypt, account_key_content: "{{ vault_le_key }}"}, '
            '{directory: "https://ca.internal:9443/acme/acme/directory", fingerprint: 9422f355...}]')


def resolve_directory(value, where='acme_directory'):
    """The directory URL of an alias or URL; ConfigurationError naming ``where`` otherwise."""
    url = DIRECTORY_ALIASES.get(value, value) if isinstance(value, str) else value
    if not isinstance(url, str) or not url.startswith(('https://', 'http://')) or not urlsplit(url).hostname \
            or re.search(r'\s', url):
        raise ConfigurationError(
            '%s %r is neither a URL nor one of the aliases %s: give the CA\'s ACME directory URL, such as '
            'https://ca.internal:9443/acme/acme/directory.' % (where, value, ', '.join(sorted(DIRECTORY_ALIASES))))
    return url


def normalize_fingerprint(value, where='fingerprint'):
    """64 lowercase hex digits from a SHA-256 fingerprint (colons, spaces, ``sha256:`` allowed)."""
    text = value.strip().lower() if isinstance(value, str) else ''
    for prefix in ('sha256 fingerprint=', 'sha256:', 'sha256='):
        if text.startswith(prefix):
            text = text[len(prefix):]
    digits = re.sub(r'[\s:\-]', '', text)
    if not _HEX64.fullmatch(digits):
        raise ConfigurationError(
            '%s %r is not a SHA-256 fingerprint: give the 64 hex digits of the CA root\'s fingerprint, with or '
            'without colons (as `step certificate fingerprint root_ca.crt` prints it).' % (where, value))
    return digits


def _default_name(directory, taken):
    """A short name for reports: the alias, else the directory's host, made unique."""
    name = directory if directory in DIRECTORY_ALIASES else (urlsplit(directory).hostname or 'issuer')
    name = re.sub(r'[^A-Za-z0-9._-]', '-', name).strip('.-') or 'issuer'
    candidate, number = name, 2
    while candidate in taken:
        candidate = '%s-%d' % (name, number)
        number += 1
    return candidate


def validate_issuer(entry, index=0, where='autotls_issuers', taken=()):
    """One issuer, checked and normalised (a new dict); ``index`` is its position (0-based)."""
    label = '%s[%d]' % (where, index)
    if not isinstance(entry, dict):
        raise ConfigurationError('%s is %r, not a dict: give each issuer as directory, account key, ... (%s).'
                                 % (label, entry, _EXAMPLE))
    if entry.get('name') is not None:
        label = '%s[%d] (%s)' % (where, index, entry['name'])
    _unknown(entry, ISSUER_KEYS, label, 'An issuer takes %s.' % ', '.join(ISSUER_KEYS))
    result = {k: v for k, v in entry.items() if v is not None and v != ''}
    if 'directory' not in result:
        raise ConfigurationError('%s: directory is missing: give the CA\'s ACME directory URL or one of the '
                                 'aliases %s.' % (label, ', '.join(sorted(DIRECTORY_ALIASES))))
    resolve_directory(result['directory'], '%s: directory' % label)
    name = result.get('name')
    if name is None:
        name = _default_name(result['directory'], taken)
    elif not is_valid_name(name):
        raise ConfigurationError('%s: name %r must be letters, digits, ".", "_" and "-", starting with a letter '
                                 'or a digit (it names the issuer in reports and its root in trust stores).'
                                 % (label, name))
    if name in taken:
        raise ConfigurationError('%s: name %r is used by another issuer: give each issuer its own name.'
                                 % (label, name))
    result['name'] = name
    if result.get('account_key_src') and result.get('account_key_content'):
        raise ConfigurationError('%s: give account_key_src or account_key_content, not both.' % label)
    for key in ('account_key_src', 'account_key_content', 'account_key_passphrase', 'account_key_pending',
                'account_email', 'eab_kid', 'ca_bundle', 'ca_url', 'profile'):
        if key in result and key != 'account_key_content':
            result[key] = _text(result[key], key, label)
    content = result.get('account_key_content')
    if content is not None and not (isinstance(content, str) and 'PRIVATE KEY' in content):
        raise ConfigurationError('%s: account_key_content must be the PEM text of the account key '
                                 '(-----BEGIN ... PRIVATE KEY-----), from a vault or an AWX credential.' % label)
    if 'terms_agreed' in result:
        result['terms_agreed'] = _bool(result['terms_agreed'], 'terms_agreed', label)
    if bool(result.get('eab_kid')) != bool(result.get('eab_hmac_key')):
        raise ConfigurationError('%s: External Account Binding needs both eab_kid and eab_hmac_key, from your '
                                 'account at that CA.' % label)
    if 'eab_alg' in result and result['eab_alg'] not in EAB_ALGS:
        raise ConfigurationError('%s: eab_alg %r is not one of %s.' % (label, result['eab_alg'], ', '.join(EAB_ALGS)))
    if 'fingerprint' in result:
        result['fingerprint'] = normalize_fingerprint(result['fingerprint'], '%s: fingerprint' % label)
    if 'ca_url' in result:
        resolve_directory(result['ca_url'], '%s: ca_url' % label)
    return result


def validate_issuers(value, where='autotls_issuers'):
    """The list of issuers, each checked and normalised, names unique; ConfigurationError otherwise."""
    if not isinstance(value, (list, tuple)) or isinstance(value, str):
        raise ConfigurationError('%s must be a list of issuers, in the order to try them (%s), not %r.'
                                 % (where, _EXAMPLE, value))
    if not value:
        raise ConfigurationError('%s is empty: give at least one issuer (%s).' % (where, _EXAMPLE))
    result = []
    for index, entry in enumerate(value):
        result.append(validate_issuer(entry, index, where, taken=[i['name'] for i in result]))
    return result


def issuers_from_settings(issuers=None, single=None, shared=None, store_path=None):
    """The issuers of a run, from ``autotls_issuers`` or from the one-issuer form.

    ``single``: the one-issuer variables that are set (``{'autotls_acme_directory': ...}``);
    ``shared``: ``autotls_account_email`` and ``autotls_terms_agreed``, which apply to each
    issuer that does not set its own. With ``store_path``, an issuer without an account
    key gets a file in the store: ``account.pem`` for the first (where the one-issuer
    form keeps it), ``account-<name>.pem`` for the others.
    """
    single = {k: v for k, v in (single or {}).items() if v is not None and v != ''}
    unknown = [k for k in single if k not in SINGLE_FORM]
    if unknown:
        raise ConfigurationError('%s is not a setting of the one-issuer form (%s).'
                                 % (unknown[0], ', '.join(SINGLE_FORM)))
    if issuers:
        if single:
            raise ConfigurationError(
                'autotls_issuers and %s are both set: give the issuers in autotls_issuers only (its first entry '
                'takes directory, fingerprint, account key, ... of the one-issuer form), or leave autotls_issuers '
                'out.' % ', '.join(sorted(single)))
        where = 'autotls_issuers'
        entries = issuers
    else:
        if 'autotls_acme_directory' not in single:
            raise ConfigurationError('No CA is set: give autotls_acme_directory (one CA), or autotls_issuers (%s).'
                                     % _EXAMPLE)
        where = 'the one-issuer settings (autotls_acme_directory, ...)'
        entries = [{SINGLE_FORM[k]: v for k, v in single.items()}]
    if not isinstance(entries, (list, tuple)) or isinstance(entries, str):
        return validate_issuers(entries, where)
    merged = []
    for entry in entries:
        if isinstance(entry, dict):
            entry = dict(entry)
            for variable, key in SHARED.items():
                if (shared or {}).get(variable) is not None and entry.get(key) is None:
                    entry[key] = shared[variable]
        merged.append(entry)
    result = validate_issuers(merged, where)
    if store_path:
        for index, issuer in enumerate(result):
            if not issuer.get('account_key_src') and not issuer.get('account_key_content'):
                issuer['account_key_src'] = '%s/%s' % (
                    str(store_path).rstrip('/'), 'account.pem' if index == 0 else 'account-%s.pem' % issuer['name'])
            if not issuer.get('account_key_pending'):
                issuer['account_key_pending'] = pending_key_path(issuer, index, store_path)
    return result


def pending_key_path(issuer, index, store_path):
    """Where an account key rollover keeps the new key of issuer ``index`` until it is in place.

    In the store, so that an S3 store holds it before the CA hears of it: ``<account_key_src>.new``
    for a key kept in a file (it replaces that file once the CA confirmed); for a key given as
    ``account_key_content`` (a vault, an AWX credential) ``<store>/account.pem.pending`` for the
    first issuer and ``<store>/account-<name>.pem.pending`` for the others, where it stays until
    the operator moved it into the vault or the credential. Never an ``account-<name>.pem``
    name: that is the key file of an issuer of that name.
    """
    if issuer.get('account_key_src') and not issuer.get('account_key_content'):
        return issuer['account_key_src'] + '.new'
    return '%s/%s' % (str(store_path).rstrip('/'),
                      'account.pem.pending' if index == 0 else 'account-%s.pem.pending' % issuer['name'])


def legacy_pending_key_path(path):
    """Where a rollover begun before the ``.pem.pending`` names kept the new key of a vault key, else None.

    ``account.pem.pending`` was ``account-new.pem``; ``account-<name>.pem.pending`` was
    ``account-<name>-new.pem``.
    """
    if not path or not path.endswith('.pem.pending'):
        return None
    head, name = os.path.split(path)
    if name == 'account.pem.pending':
        return os.path.join(head, 'account-new.pem')
    if name.startswith('account-'):
        return os.path.join(head, name[:-len('.pem.pending')] + '-new.pem')
    return None


def root_base_url(issuer):
    """Where a private CA serves its roots: ``ca_url``, else the directory's scheme and host."""
    if issuer.get('ca_url'):
        return issuer['ca_url'].rstrip('/')
    parts = urlsplit(resolve_directory(issuer['directory']))
    return '%s://%s' % (parts.scheme, parts.netloc)


def issuer_setup(issuers=None, single=None, shared=None, store_path='~/.local/share/autotls'):
    """What the issue role needs: ``issuers`` for the certificate module, ``roots`` to bootstrap.

    A private CA known by its root's fingerprint (and without a ``ca_bundle``) has its root
    fetched, checked and written to the store (``ca-root.pem`` for the first issuer, as the
    one-issuer form always had it, ``ca-root-<name>.pem`` for others); that file then
    verifies the CA's endpoint, and the root goes into the hosts' trust stores under
    ``acme-ca`` (first issuer) or ``acme-ca-<name>``: a host may be served a certificate
    of any issuer, so it trusts each one's root.
    """
    result = issuers_from_settings(issuers, single, shared, store_path)
    roots = []
    for index, issuer in enumerate(result):
        if issuer.get('fingerprint') and not issuer.get('ca_bundle'):
            suffix = '' if index == 0 else '-' + issuer['name']
            issuer['ca_bundle'] = '%s/ca-root%s.pem' % (str(store_path).rstrip('/'), suffix)
            roots.append({'issuer': issuer['name'], 'url': root_base_url(issuer), 'fingerprint': issuer['fingerprint'],
                          'dest': issuer['ca_bundle'], 'trust_name': 'acme-ca' + suffix})
    form = 'issuers' if issuers else 'single'
    return {'issuers': result, 'roots': roots, 'names': [i['name'] for i in result], 'form': form}


def issuer_setup_from_vars(variables, store_path='~/.local/share/autotls'):
    """:func:`issuer_setup` from a host's variables (``hostvars[inventory_hostname]``).

    For the playbooks that act on one CA at a time (account.yml, revoke.yml, retire.yml):
    the same variables as the issue role reads, by the names of :data:`SINGLE_FORM` and
    :data:`SHARED`.
    """
    get = variables.get
    single = {k: get(k) for k in SINGLE_FORM}
    shared = {k: get(k) for k in SHARED}
    return issuer_setup(get('autotls_issuers') or None, single, shared, store_path)


def key_setting(setup, index):
    """The inventory setting that holds the account key of issuer ``index`` of ``setup``."""
    if setup.get('form') == 'single':
        return 'autotls_account_key_content'
    return 'autotls_issuers[%d].account_key_content (issuer %s)' % (index, setup['names'][index])


def choose_issuer(setup, name=None, where='autotls_account_issuer'):
    """The issuer of ``setup`` named ``name`` (the first when None): ``{name, index, names, key_setting, key_file, pending_key}``.

    Nothing secret: what a playbook checks and reports. An unknown name is refused, naming
    the value and the known names.
    """
    names = list(setup['names'])
    if name is None or name == '':
        index = 0
    elif name in names:
        index = names.index(name)
    else:
        raise ConfigurationError('%s %r is not one of the issuers: %s. Give one of those names (autotls_issuers[].name, '
                                 'or the default name of an issuer: its alias or its directory\'s host), or leave it '
                                 'out for the first.' % (where, name, ', '.join(names)))
    issuer = setup['issuers'][index]
    key_file = issuer.get('account_key_src') if not issuer.get('account_key_content') else None
    return {'name': names[index], 'index': index, 'names': names, 'key_setting': key_setting(setup, index),
            'key_file': key_file, 'pending_key': issuer.get('account_key_pending')}
