# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: run_outcome
short_description: What a run did on its hosts - deployments, failed and unreachable hosts, run-level failures
version_added: 0.1.0
description:
  - Reads, for every host of the play, the certificates C(autotls.acme.cert_deploy) deployed
    (C(autotls_cert_deploy_changed)) and put back because a server's check refused them
    (C(autotls_cert_deploy_rolled_back)), the failure a play's C(rescue) recorded, and whether the host was reached.
  - A host with certificates put back is failed (status C(rolled_back)); the certificates it deployed and reloaded
    before it failed are still listed as deployed. After any other failure nothing is listed as deployed on it.
  - A failed step that ran once on the controller (it fails every host at once, like the store pull or the
    gathering of conflicting declarations) is a run-level failure, not a host failure.
  - The result feeds M(autotls.acme.notify) (O(autotls.acme.notify#module:deployed),
    O(autotls.acme.notify#module:hosts), O(autotls.acme.notify#module:run_errors)) and the filter
    C(autotls.acme.run_report).
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: Every host of the play, C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  active_hosts:
    description: The hosts still running, C(ansible_play_hosts).
    type: list
    elements: str
    required: true
  run_errors:
    description: Run-level failures known already (empty strings are ignored).
    type: list
    elements: str
    default: []
  failure_var:
    description: Name of the per-host fact a C(rescue) sets, a dict with C(task), C(msg) and C(controller).
    type: str
  reached_var:
    description: Name of a fact an C(always) section sets on every host it runs for; hosts without it were unreachable.
    type: str
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Gather what the run did
  ansible.builtin.set_fact:
    outcome: >-
      {{ hostvars | autotls.acme.run_outcome(ansible_play_hosts_all, ansible_play_hosts,
         run_errors=[store_error], failure_var='my_failure', reached_var='my_reached') }}
  run_once: true
'''

RETURN = r'''
_value:
  description:
    - C(deployed) (dicts with C(host), C(certificate)), C(hosts) (dicts with C(host), C(status) - C(unreachable),
      C(failed) or C(rolled_back) - C(msg) and C(certificates)) and C(run_errors) (strings).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._notify.run import run_outcome as _run_outcome


def run_outcome(hostvars, hosts, active_hosts, run_errors=None, failure_var=None, reached_var=None):
    try:
        return _run_outcome(hostvars, hosts, active_hosts, run_errors or [], failure_var, reached_var)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'run_outcome': run_outcome}
