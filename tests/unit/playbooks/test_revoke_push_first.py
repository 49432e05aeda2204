# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""revoke.yml pushes the store before it deploys, and deploys nothing after a failed push.

A deploy before the push would leave the revoked certificate current in an S3 store when
the push fails, and the next nightly deploy would put it back on the hosts. The steps of
the playbook as ansible-core reads them, and its failure message as ansible-core renders it.
"""

import os

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, 'playbooks', 'revoke.yml')
MAIN = 'Revoke, replace, deploy and reload'
FAIL = 'Fail when the working copy could not be pushed'


def _tasks():
    with open(PLAYBOOK, encoding='utf-8') as handle:
        return yaml.safe_load(handle)[0]['tasks']


def _names(tasks):
    return [task.get('name') for task in tasks]


def test_the_push_comes_before_the_deploy():
    tasks = _tasks()
    names = _names(tasks)
    main = tasks[names.index(MAIN)]
    # Issued and pushed under the lease; the failure raised before anything is deployed.
    assert _names(main['block'])[-1] == 'Issue the replacement', _names(main['block'])
    assert _names(main['always']) == ['Push the working copy back to the store', "Give the store's lease back",
                                      "Warn when the store's lease could not be given back", FAIL]
    assert not any('cert_deploy' in yaml.safe_dump(task) for task in main['block'] + main['always'])
    deploy = names.index('Deploy it to the hosts that serve it')
    assert names.index(MAIN) < deploy < names.index('Reload what serves it')
    assert tasks[deploy]['ansible.builtin.include_role']['name'] == 'autotls.acme.cert_deploy'


def test_a_failed_push_names_both_serials_and_what_to_run(run_playbook):
    fail = [task for task in _tasks()[_names(_tasks()).index(MAIN)]['always'] if task['name'] == FAIL][0]
    assert fail['when'] == '__revoke_pushed.msg is defined'
    left = {'autotls_revoke': 'app1', '__revoke_pushed': {'msg': 'no longer holds the lease'},
            '__revoke_revoked': {'serial': '4f3c', 'acme_issuer': 'second'},
            '__revoke_declared': [{'name': 'app1', 'hosts': ['app1', 'app2']}]}
    cases = [dict(left, autotls_issue_results=[{'name': 'app1', 'serial': '29ab'}]),
             dict(left, autotls_issue_results=[])]
    tasks = [{'name': 'case %d' % index, 'vars': dict(case, **fail['vars']),
              'ansible.builtin.debug': {'msg': fail['ansible.builtin.fail']['msg']}}
             for index, case in enumerate(cases)]
    result = run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])
    replaced, unreplaced = (result.task('case %d' % index)['result']['msg'] for index in range(2))
    assert replaced.startswith('Could not push the working copy to the store: no longer holds the lease.')
    assert 'app1 serial 4f3c was revoked at second and replaced by serial 29ab' in replaced
    assert 'nothing was deployed' in replaced and 'back on app1, app2' in replaced
    assert 'run revoke.yml -e autotls_revoke=app1 again' in replaced
    assert 'serial 4f3c was revoked at second (no replacement was issued)' in unreplaced
