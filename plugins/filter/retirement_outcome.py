# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: retirement_outcome
short_description: The retirement plan with the hosts that still hold each certificate
version_added: 0.2.0
description:
  - What C(playbooks/retire.yml) learns from taking the certificates off the hosts. Each entry of the plan gets
    C(kept), the hosts that still hold it and why (a server's check failed without its files, so everything went back;
    the host failed or was unreachable). A certificate kept on any host keeps its store copy (it is neither set aside
    nor revoked).
  - Each entry also gets C(left), the files a host left in place because their content changed since the collection
    wrote them (the operator's own now); they do not keep the store copy.
options:
  _input:
    description: What C(autotls.acme.retirement_plan) returned.
    type: list
    elements: dict
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  hosts:
    description: The hosts of the play (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  manifest:
    description:
      - The name of the variable the manifest read registered. A host of O(hosts) whose manifest was not read
        (it failed earlier, was unreachable, or the read failed) may still serve any certificate, so every store
        copy is kept (neither set aside nor revoked) and the host is named in C(kept).
    type: str
    default: __retire_manifest
  result:
    description: The name of the variable the take-off task registered.
    type: str
    default: __retire_taken_off
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Note the hosts that still hold a certificate
  ansible.builtin.set_fact:
    # taken_off and manifest: what the take-off and the manifest read registered on each host.
    retired: "{{ retired | autotls.acme.retirement_outcome(hostvars, ansible_play_hosts_all, 'taken_off', 'manifest') }}"
'''

RETURN = r'''
_value:
  description: The plan's entries, each with C(kept) (a list of C({host, reason, server, kind})) and C(left) (a list of C({host, path})).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._store.retirement import retirement_outcome as _outcome


def retirement_outcome(plan, hostvars, hosts, result='__retire_taken_off', manifest='__retire_manifest'):
    try:
        return _outcome(plan, {host: hostvars[host].get(result) for host in hosts or []},
                        {host: hostvars[host].get(manifest) for host in hosts or []})
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('retirement_outcome: %s' % exc)


class FilterModule:
    def filters(self):
        return {'retirement_outcome': retirement_outcome}
