# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: check_targets
short_description: What check.yml looks at - each declared certificate in the store, and each host that serves it
version_added: 0.1.0
description:
  - For each certificate (as C(autotls.acme.declared_certificates) returns them), its C(fullchain.pem) in the store with
    its C(privkey.pem), then, for each host that declares it, the host's TLS endpoint (C(ansible_host), C(autotls_tls_port),
    default 443) asked for the certificate's first plain domain (or a name its wildcard covers).
options:
  _input:
    description: The declared certificates, each with C(name), C(domains) and C(hosts).
    type: list
    elements: dict
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  store_path:
    description: The store's working copy (C(autotls_store.path)).
    type: path
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: List what to check
  ansible.builtin.set_fact:
    targets: "{{ declared | autotls.acme.check_targets(hostvars, '/srv/autotls') }}"
'''

RETURN = r'''
_value:
  description:
    - Store targets first, then endpoints. Each has C(certificate), C(host) (C((store)) for the store), C(source)
      (C(store) or C(live)), C(where), and C(path) and C(key_path) (store) or C(endpoint) (live, as
      M(autotls.acme.cert_info) takes it).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as _impl


def check_targets(declared, hostvars, store_path):
    try:
        return _impl.check_targets(declared, hostvars, store_path)
    except (AutoTLSError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('check_targets: %s' % exc)


class FilterModule:
    def filters(self):
        return {'check_targets': check_targets}
