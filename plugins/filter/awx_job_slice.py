# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: awx_job_slice
short_description: Whether the run is one slice of a sliced AWX job template
version_added: 0.1.0
description:
  - AWX passes a playbook no slice number or count (they are fields of the job in AWX's API). It runs a sliced job
    template as a workflow job named after the template, one node per slice, and every job a workflow starts gets
    C(awx_workflow_job_id) and C(awx_workflow_job_name) (also with the prefix C(tower_)) beside its own
    C(awx_job_template_name). A job whose workflow carries its own template's name is a slice.
  - C(playbooks/issue.yml) refuses to run in a slice with the returned C(msg).
options:
  _input:
    description: The job's variables, C(hostvars[inventory_hostname]).
    type: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Refuse to order certificates in a slice
  ansible.builtin.assert:
    that: not __slice.sliced
    fail_msg: "{{ __slice.msg }}"
  vars:
    __slice: "{{ hostvars[inventory_hostname] | autotls.acme.awx_job_slice }}"
'''

RETURN = r'''
_value:
  description:
    - C(sliced) (bool), C(msg) (why it is a slice, or empty), C(job_id), C(job_template), C(workflow_job_id) and
      C(workflow_job) (null where AWX gave none).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.awx import job_slice


def awx_job_slice(variables):
    if not hasattr(variables, 'get'):
        raise AnsibleFilterError('awx_job_slice takes the job\'s variables (hostvars[inventory_hostname]), got %r'
                                 % (variables,))
    return job_slice(variables)


class FilterModule:
    def filters(self):
        return {'awx_job_slice': awx_job_slice}
