# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""renew.yml deploys nothing its store never recorded: not after a push of the issue stage that failed.

The variables of playbooks/vars/stages.yml, evaluated by ansible-core as the stages do, and
the deploy stage's steps that read them.
"""

import os

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STAGES = os.path.join(REPO, 'playbooks', 'vars', 'stages.yml')

CASES = [
    # (variables the issue stage left, deploy held, the summary names it)
    ({'__autotls_one_job': True, '__autotls_pushed': {'changed': True}}, False, False),
    ({'__autotls_one_job': True, '__autotls_pushed': {'msg': 'no longer holds the lease'}}, True, True),
    ({'__autotls_one_job': True, '__autotls_issue_stopped': True}, True, False),
    ({}, False, False),    # deploy.yml alone: it pulls the store itself
]


def test_a_failed_push_holds_the_deploy_stage_of_renew(run_playbook):
    tasks = []
    for index, (variables, _held, _named) in enumerate(CASES):
        tasks.append({'name': 'case %d' % index, 'vars': variables, 'ansible.builtin.debug': {
            'msg': {'held': '{{ __autotls_deploy_held | bool }}', 'errors': '{{ __autotls_run_errors }}'}}})
    play = {'hosts': 'localhost', 'gather_facts': False, 'vars_files': [STAGES], 'tasks': tasks}
    result = run_playbook([play])
    for index, (_variables, held, named) in enumerate(CASES):
        found = result.task('case %d' % index)['result']['msg']
        assert found['held'] is held, (index, found)
        assert any('nothing was deployed' in error for error in found['errors']) is named, (index, found)


@pytest.mark.parametrize('step', ['Deploy the certificates to the hosts that serve them',
                                  'Find hosts that still serve another certificate than the store\'s'])
def test_the_deploy_steps_read_it(step):
    with open(os.path.join(REPO, 'playbooks', 'deploy.yml'), encoding='utf-8') as handle:
        block = yaml.safe_load(handle)[0]['tasks'][0]['block']
    task = [task for task in block if task['name'] == step][0]
    assert 'not (__autotls_deploy_held | bool)' in task['when'], task
