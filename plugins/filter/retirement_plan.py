# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: retirement_plan
short_description: The certificates no host declares any more, with the hosts and the store that still hold them
version_added: 0.1.0
description:
  - Compares what the whole inventory declares with what the hosts' manifests (M(autotls.acme.host_manifest))
    and the store hold. Used by C(playbooks/retire.yml).
options:
  _input:
    description: What C(autotls.acme.declared_certificates) gathered over every inventory host.
    type: list
    elements: dict
    required: true
  manifests:
    description: Per host, the certificate names its manifest lists.
    type: dict
    required: true
  stored:
    description: The certificate names in the store's C(certs/).
    type: list
    elements: str
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: What to retire
  ansible.builtin.set_fact:
    retire: "{{ declared | autotls.acme.retirement_plan(manifests, stored) }}"
'''

RETURN = r'''
_value:
  description: One entry per certificate to retire, by name - C(name), C(hosts) (that still hold it), C(in_store).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._store.retirement import retirement_plan as _plan


def retirement_plan(declared, manifests, stored):
    try:
        return _plan(declared, manifests, stored)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('retirement_plan: %s' % exc)


class FilterModule:
    def filters(self):
        return {'retirement_plan': retirement_plan}
