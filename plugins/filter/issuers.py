# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: issuers
short_description: The CAs of a run, in order, from autotls_issuers or the one-issuer settings
version_added: 0.1.0
description:
  - Checks C(autotls_issuers) (or, when it is not set, C(autotls_acme_directory) and its companion settings, the
    one-issuer form) against the model of an issuer, and returns what the issue role needs.
  - An unknown key is named (with the closest known one); a bad value is named with what to change.
  - An issuer without an account key gets a file in the store (C(account.pem) for the first, C(account-<name>.pem)
    for the others); one known by its root's fingerprint gets the checked root's file as its CA bundle.
  - C(hostvars[inventory_hostname] | autotls.acme.issuer_settings(store_path)) returns the same from a host's variables
    (C(autotls_issuers), else C(autotls_acme_directory) and its companions), for the playbooks that act on one CA.
  - C(setup | autotls.acme.account_issuer(name)) picks the issuer called C(name) (the first for none) and returns
    nothing secret - C(name), C(index), C(names), C(key_setting) (the inventory setting of its account key) and
    C(key_file); an unknown name is refused, naming it and the known names.
options:
  _input:
    description: C(autotls_issuers), or C(none) / an empty list for the one-issuer form.
    type: list
    elements: dict
    required: true
  single:
    description: The one-issuer variables (C(autotls_acme_directory), C(autotls_acme_ca_bundle), ...); unset ones as C(none).
    type: dict
  shared:
    description: C(autotls_account_email) and C(autotls_terms_agreed), for issuers that do not set their own.
    type: dict
  store_path:
    description: The store's working copy on the controller.
    type: str
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: The CAs of this run
  ansible.builtin.set_fact:
    issuer_setup: >-
      {{ autotls_issuers | default(none) | autotls.acme.issuers({'autotls_acme_directory': autotls_acme_directory
         | default(none)}, {'autotls_terms_agreed': true}, '/srv/autotls') }}
'''

RETURN = r'''
_value:
  description:
    - C(issuers), the checked issuers in order (each with C(name)), for the O(autotls.acme.certificate#module:issuers) option;
      C(roots), the private CA roots to fetch and check (C(issuer), C(url), C(fingerprint), C(dest), C(trust_name));
      C(names), the issuers' names in order; C(form), C(issuers) or C(single) (the one-issuer form).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.issuers import (
    choose_issuer,
    issuer_setup,
    issuer_setup_from_vars,
)


def issuers(value, single=None, shared=None, store_path='~/.local/share/autotls'):
    try:
        return issuer_setup(value or None, single, shared, store_path)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


def issuer_settings(variables, store_path='~/.local/share/autotls'):
    """What C(issuers) returns, from a host's variables (C(hostvars[inventory_hostname])): autotls_issuers or the one-issuer form."""
    try:
        return issuer_setup_from_vars(variables, store_path)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


def account_issuer(setup, name=None):
    """The issuer called C(name) of what C(issuers) returned (the first for none): name, index, names, key_setting, key_file."""
    try:
        return choose_issuer(setup, name)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


def issuer_roots(results):
    """The checked roots, from the C(results) of the ca_roots task looped over C(roots): [{name, pem}]."""
    roots = []
    for result in results or []:
        if not isinstance(result, dict) or not result.get('root_pem') or not isinstance(result.get('item'), dict):
            raise AnsibleFilterError('issuer_roots takes the results of ca_roots looped over the roots of issuers')
        roots.append({'name': result['item']['trust_name'], 'pem': result['root_pem']})
    return roots


class FilterModule:
    def filters(self):
        return {'issuers': issuers, 'issuer_roots': issuer_roots, 'issuer_settings': issuer_settings,
                'account_issuer': account_issuer}
