# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: retirement_scope
short_description: Whether a run sees every inventory host's declarations, as retiring needs
version_added: 0.1.0
description:
  - Retiring what no host declares is only safe when the run sees the declarations of every inventory host. A run
    limited with C(--limit), whose play targets fewer hosts than the inventory holds, or that is one slice of a
    sliced AWX job template, retires nothing.
options:
  _input:
    description: The play's hosts (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  inventory_hosts:
    description: Every inventory host (C(groups['all'])).
    type: list
    elements: str
    required: true
  limit:
    description: The run's C(--limit) (C(ansible_limit)), when there is one.
    type: str
  job_slice:
    description:
      - What C(autotls.acme.awx_job_slice) found about the job. A slice of a sliced AWX job template sees only its
        own hosts (also in C(groups['all'])), so it retires nothing.
    type: dict
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: May this run retire?
  ansible.builtin.set_fact:
    scope: "{{ ansible_play_hosts_all | autotls.acme.retirement_scope(groups['all'], ansible_limit | default(None),
      hostvars[inventory_hostname] | autotls.acme.awx_job_slice) }}"
'''

RETURN = r'''
_value:
  description: C(whole) (true when every host's declarations are seen) and C(reason) (why not, otherwise).
  type: dict
'''

from ansible_collections.autotls.acme.plugins.module_utils._store.retirement import retirement_scope as _scope


def retirement_scope(play_hosts, inventory_hosts, limit=None, job_slice=None):
    whole, reason = _scope(play_hosts, inventory_hosts, limit, job_slice)
    return {'whole': whole, 'reason': reason}


class FilterModule:
    def filters(self):
        return {'retirement_scope': retirement_scope}
