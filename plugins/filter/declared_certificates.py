# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: declared_certificates
short_description: Gather the certificates the targeted hosts declare, deduplicated by name
version_added: 0.1.0
description:
  - Reads C(autotls_host_certificates) and C(autotls_certificates) of each host and returns one entry per
    certificate name, with C(hosts) listing every host that declares (serves) it.
  - On one host, an entry of C(autotls_host_certificates) wins over an entry of C(autotls_certificates) with the same name.
  - Every entry is validated and normalised first, by the collection's one model of a declared certificate;
    it checks the name rule, domains (a list of DNS names, lower-cased, C(xn--) form, wildcards only with C(dns-01)),
    challenge, key type, modes (quoted octal strings), owner and group, C(nginx); an unknown key is an error
    naming the certificate and the key.
  - The same name declared with different domains, challenge or key type on two hosts is an error that names both hosts.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The hosts to gather from, usually C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Everything the play's hosts serve
  ansible.builtin.set_fact:
    certificates: "{{ hostvars | autotls.acme.declared_certificates(ansible_play_hosts_all) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description:
    - One dict per certificate, validated and normalised, plus C(hosts).
    - Pass it through P(autotls.acme.issuance_entries#filter) before giving it to M(autotls.acme.certificate).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.inventory import gather_certificates


def declared_certificates(hostvars, hosts):
    try:
        return gather_certificates(hostvars, hosts)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'declared_certificates': declared_certificates}
