# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: dns_names
short_description: Validate and normalise a list of DNS names before they are rendered anywhere
version_added: 0.1.0
description:
  - The collection's domain rule (LDH labels of 1 to 63 characters, at most 253 in all, lower-cased, trailing dot dropped,
    C(xn--) form for internationalised names, a wildcard only as the whole leftmost label) applied to a list of names
    that is not part of a certificate, such as C(autotls_nginx_server_names).
  - A string instead of a list, an empty name, white space, C(;) and the like are errors naming the setting and the value.
options:
  _input:
    description: The names.
    type: list
    elements: str
    required: true
  setting:
    description: The name of the setting, for messages.
    type: str
  allow_empty:
    description: Whether an empty list is fine.
    type: bool
    default: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: More names for the port 80 server
  ansible.builtin.debug:
    msg: "{{ autotls_nginx_server_names | autotls.acme.dns_names('autotls_nginx_server_names') }}"
'''

RETURN = r'''
_value:
  description: The names, normalised, duplicates dropped.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.domains import normalize_domain


def dns_names(names, setting=None, allow_empty=True):
    where = setting or 'a list of DNS names'
    if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple)):
        raise AnsibleFilterError('%s must be a list, e.g. [a.example.com], not %r.' % (where, names))
    if not names and not allow_empty:
        raise AnsibleFilterError('%s is empty: give at least one DNS name, e.g. [a.example.com].' % where)
    result = []
    try:
        for name in names:
            value = normalize_domain(name, None, None, setting)
            if value not in result:
                result.append(value)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))
    return result


class FilterModule:
    def filters(self):
        return {'dns_names': dns_names}
