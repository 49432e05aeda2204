# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: metrics_hosts
short_description: The hosts that want a metrics file, and where
version_added: 0.1.0
description:
  - Of the given hosts, those whose C(autotls_metrics) sets C(textfile_dir), with the path and mode of their metrics
    file. Each host's setting is checked as C(autotls.acme.metrics_settings) does.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The inventory names to look at.
    type: list
    elements: str
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Find the hosts with a metrics file
  ansible.builtin.set_fact:
    metrics_hosts: "{{ hostvars | autotls.acme.metrics_hosts(ansible_play_hosts) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: A dict of the hosts' names to dicts with C(path) and C(mode) of their metrics file.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._metrics.settings import metrics_hosts as _impl


def metrics_hosts(hostvars, hosts):
    try:
        return _impl(hostvars, hosts)
    except AutoTLSError as exc:
        raise AnsibleFilterError('metrics_hosts: %s' % exc)


class FilterModule:
    def filters(self):
        return {'metrics_hosts': metrics_hosts}
