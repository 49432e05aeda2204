# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""revoke.yml refuses, before anything is contacted, what it must not do."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, 'playbooks', 'revoke.yml')


def test_a_slice_of_a_sliced_awx_job_revokes_nothing(run_playbook, tmp_path):
    # How AWX runs a slice: a workflow job named after the sliced job template.
    slice_vars = {'awx_job_template_name': 'revoke', 'awx_workflow_job_name': 'revoke',
                  'awx_workflow_job_id': 41, 'awx_job_id': 42, 'autotls_revoke': 'app1',
                  'autotls_store': {'type': 'local', 'path': str(tmp_path / 'store')}}
    result = run_playbook(PLAYBOOK, extra_vars=slice_vars, expect_rc=2)
    refusal = result.task('Refuse to revoke in a slice of a sliced job')
    assert refusal['failed'], refusal
    assert 'workflow' in result.stdout.lower()
    assert not (tmp_path / 'store').exists()


def test_an_unsliced_job_goes_on_to_check_the_name(run_playbook, tmp_path):
    job_vars = {'awx_job_template_name': 'revoke', 'awx_job_id': 42, 'autotls_revoke': 'app1',
                'autotls_revoke_reason': 'stolen',
                'autotls_store': {'type': 'local', 'path': str(tmp_path / 'store')}}
    result = run_playbook(PLAYBOOK, extra_vars=job_vars, expect_rc=2)
    assert not result.task('Refuse to revoke in a slice of a sliced job')['failed']
    check = result.task('Check what to revoke')
    assert check['failed']
    assert 'autotls_revoke_reason must be one of unspecified, keyCompromise' in check['result']['msg']
    assert '(got "stolen")' in check['result']['msg']
    # Refused before the store or a CA is touched.
    assert not [r for r in result.results if r['action'].startswith('autotls.acme.')]
