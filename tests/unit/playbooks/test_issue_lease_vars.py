# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lease issue.yml and revoke.yml hand to the issue role passes the role's argument check.

The expression is taken from the playbooks as they are and checked against the role's
meta/argument_specs.yml by ansible-core's own check (validate_argument_spec reads the role's
variables from the task's variables, as the role's entry point does), with and without
autotls_store.lease_duration. tests/versions runs the unit tests with the declared minimum
ansible-core as well, where a ``default(none)`` inside a dict renders as an empty string.
"""

import os

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = os.path.join(REPO, 'roles', 'issue', 'meta', 'argument_specs.yml')


def _lease_expression(playbook):
    """The autotls_issue_lease of the task of ``playbook`` that includes the issue role."""
    with open(os.path.join(REPO, 'playbooks', playbook), encoding='utf-8') as handle:
        plays = yaml.safe_load(handle)
    found = []

    def walk(tasks):
        for task in tasks or []:
            for key in ('block', 'rescue', 'always'):
                walk(task.get(key))
            if (task.get('ansible.builtin.include_role', {}).get('name') == 'autotls.acme.issue'
                    and 'autotls_issue_lease' in task.get('vars', {})):
                found.append(task['vars']['autotls_issue_lease'])
    for play in plays:
        walk(play.get('tasks'))
    assert len(found) == 1, (playbook, found)
    return found[0]


@pytest.mark.parametrize('store', [{'type': 's3', 'bucket': 'b'}, {'type': 's3', 'bucket': 'b', 'lease_duration': 7200}],
                         ids=['default duration', 'duration set'])
def test_the_lease_passes_the_roles_argument_check(run_playbook, store):
    with open(SPEC, encoding='utf-8') as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    tasks = []
    for playbook in ('issue.yml', 'revoke.yml'):
        tasks.append({
            'name': 'Check the lease of %s' % playbook,
            'ansible.builtin.validate_argument_spec': {'argument_spec': {'autotls_issue_lease': options['autotls_issue_lease']}},
            'vars': {'autotls_issue_lease': _lease_expression(playbook)},
        })
        tasks.append({'name': 'Show the lease of %s' % playbook,
                      'ansible.builtin.debug': {'var': 'autotls_issue_lease'},
                      'vars': {'autotls_issue_lease': _lease_expression(playbook)}})
    play = {'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks, 'vars': {
        '__autotls_store': store,
        '__autotls_store_option': {'type': 's3', 'bucket': 'b'},
        '__autotls_lease': {'lease': {'id': 'lease-1'}},
        '__revoke_lease': {'lease': {'id': 'lease-1'}},
    }}
    result = run_playbook([play])
    for playbook in ('issue.yml', 'revoke.yml'):
        lease = result.task('Show the lease of %s' % playbook)['result']['autotls_issue_lease']
        assert lease['id'] == 'lease-1' and lease['store'] == {'type': 's3', 'bucket': 'b'}, lease
        assert str(lease.get('duration')) == str(store.get('lease_duration')), lease
