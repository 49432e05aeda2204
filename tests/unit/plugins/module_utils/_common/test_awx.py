# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A slice of a sliced AWX job template, told from the extra variables AWX gives a job.

The variables are those AWX's ``awx_meta_vars`` sets (awx/main/models/unified_jobs.py and
jobs.py): a job started by a workflow gets the workflow's id and name; a sliced job
template runs as a workflow job copied from the template, so named after it.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.filter.awx_job_slice import FilterModule
from ansible_collections.autotls.acme.plugins.module_utils._common.awx import job_slice


def _awx_vars(prefix='awx', **values):
    return {'%s_%s' % (prefix, key): value for key, value in values.items()}


def test_a_slice_of_a_sliced_template_is_told():
    found = job_slice(_awx_vars(job_id=42, job_template_name='autotls issue', workflow_job_id=41,
                                workflow_job_name='autotls issue', job_launch_type='workflow'))
    assert found['sliced'] is True
    assert (found['job_template'], found['workflow_job_id'], found['job_id']) == ('autotls issue', 41, 42)
    assert "sliced job template 'autotls issue'" in found['msg'] and 'workflow job 41' in found['msg']
    assert 'Job Slicing to 1' in found['msg'] and 'deploy.yml' in found['msg']


def test_the_older_tower_prefix_counts_too():
    assert job_slice(_awx_vars('tower', job_template_name='t', workflow_job_id=3, workflow_job_name='t'))['sliced']


@pytest.mark.parametrize('variables', [
    {},                                                                   # ansible-playbook by hand
    _awx_vars(job_id=7, job_template_name='autotls issue'),              # a job of its own
    _awx_vars(job_id=9, job_template_name='autotls issue', workflow_job_id=8,
              workflow_job_name='autotls nightly'),                      # a node of the operator's workflow
    _awx_vars(job_template_name='', workflow_job_id=8, workflow_job_name=''),
])
def test_not_a_slice(variables):
    found = job_slice(variables)
    assert found['sliced'] is False and found['msg'] == ''


def test_the_filter_takes_the_job_variables():
    awx_job_slice = FilterModule().filters()['awx_job_slice']
    assert awx_job_slice(_awx_vars(job_template_name='t', workflow_job_id=1, workflow_job_name='t'))['sliced']
    with pytest.raises(AnsibleFilterError, match='hostvars'):
        awx_job_slice('awx_job_template_name')
