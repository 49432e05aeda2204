# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: host_certificates
short_description: The certificates one host serves, validated, the host's own winning over its groups'
version_added: 0.1.0
description:
  - Takes a host's C(autotls_host_certificates) and C(autotls_certificates) and returns one validated,
    normalised entry per certificate name, the host's own first. When both declare a name, the host's entry wins, whole.
  - Used by the roles C(autotls.acme.cert_deploy) and C(autotls.acme.nginx_tls), so that nothing is written or
    rendered on a host from an entry that was not validated (names, domains, modes, C(nginx)).
options:
  _input:
    description: The host's C(autotls_host_certificates).
    type: list
    elements: dict
    required: true
  group_certificates:
    description: The host's C(autotls_certificates).
    type: list
    elements: dict
  host:
    description: The host's name, for messages.
    type: str
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: What this host serves
  ansible.builtin.set_fact:
    served: >-
      {{ autotls_host_certificates | default([]) | autotls.acme.host_certificates(autotls_certificates | default([]),
         inventory_hostname) }}
'''

RETURN = r'''
_value:
  description: One validated dict per certificate name.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.inventory import host_certificates as _host_certificates


def host_certificates(own, group_certificates=None, host=None):
    try:
        return _host_certificates(own, group_certificates, host)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'host_certificates': host_certificates}
