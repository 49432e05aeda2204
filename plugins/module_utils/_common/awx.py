# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What AWX (or Ansible Automation Platform) tells a playbook about the job it runs in.

AWX passes no slice number or count to a playbook: ``job_slice_number`` and
``job_slice_count`` are fields of the job in AWX's API (and its notifications), and the
playbook only sees its slice's hosts in the inventory. What it does see is how AWX runs
a sliced job template: as a workflow job it creates from the job template, named after
it, with one node per slice. Every job started by a workflow gets the workflow's id and
name as extra variables (``awx_workflow_job_id``, ``awx_workflow_job_name``, and the same
with the older ``tower_`` prefix) beside its own ``awx_job_template_name``. A job whose
workflow carries its own job template's name is therefore a slice.
"""

from __future__ import annotations

PREFIXES = ('awx', 'tower')


def _first(variables, name):
    for prefix in PREFIXES:
        value = variables.get('%s_%s' % (prefix, name))
        if value not in (None, ''):
            return value
    return None


def job_slice(variables):
    """Whether this run is one slice of a sliced AWX job template.

    ``variables``: a mapping with the job's variables (``hostvars[inventory_hostname]``).
    Returns ``sliced`` (bool), ``job_id``, ``job_template``, ``workflow_job_id``,
    ``workflow_job`` (None where AWX gave none) and ``msg``: why it is a slice, or ''.
    """
    found = dict(
        job_id=_first(variables, 'job_id'),
        job_template=_first(variables, 'job_template_name'),
        workflow_job_id=_first(variables, 'workflow_job_id'),
        workflow_job=_first(variables, 'workflow_job_name'),
    )
    sliced = bool(found['job_template'] and found['workflow_job_id'] is not None
                  and found['workflow_job'] == found['job_template'])
    found['sliced'] = sliced
    found['msg'] = ''
    if sliced:
        found['msg'] = (
            "This job is one slice of the sliced job template %r (AWX runs its slices as workflow job %s, "
            "named after the template): every slice would order the certificates of its own hosts at the "
            "same time. Set Job Slicing to 1 on that template and slice the delivery instead: a workflow of "
            "issue.yml (one unsliced job), then deploy.yml (sliced), then check.yml - see docs/awx.md. "
            "A workflow of your own must not carry the issue template's name."
            % (found['job_template'], found['workflow_job_id']))
    return found
