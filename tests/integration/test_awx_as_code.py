# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/awx/workflow.yml, the AWX objects as code: it passes ansible-lint (production
profile, the repository's settings) and ansible-playbook --syntax-check against the real
awx.awx collection, and it wires what docs/awx.md says.

No AWX server runs here, so the calls themselves are not made. awx.awx is not on PyPI on
its own: the test takes it from the ``ansible`` package's wheel (pinned, downloaded once
into ~/.cache/autotls/awx-collection with pip) into a collections path of its own.
"""

import os
import subprocess
import sys
import zipfile

import pytest
import yaml

pytestmark = [pytest.mark.integration]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKFLOW = os.path.join(REPO, 'docs', 'awx', 'workflow.yml')
CREDENTIAL_TYPES = os.path.join(REPO, 'docs', 'awx', 'credential-types')
VENV_BIN = os.path.dirname(sys.executable)
# The ansible package that bundles awx.awx 24.6.1 (AWX's last collection release).
ANSIBLE_WHEEL = 'ansible==12.3.0'
CACHE = os.path.join(os.path.expanduser(os.environ.get('XDG_CACHE_HOME', '~/.cache')), 'autotls', 'awx-collection')


@pytest.fixture(scope='module')
def awx_collection(tmp_path_factory):
    """A collections path holding awx.awx (and nothing else)."""
    wheels = [n for n in os.listdir(CACHE) if n.endswith('.whl')] if os.path.isdir(CACHE) else []
    if not wheels:
        os.makedirs(CACHE, exist_ok=True)
        done = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
                               '-d', CACHE, ANSIBLE_WHEEL], capture_output=True, text=True, check=False, timeout=600)
        assert done.returncode == 0, 'could not download %s for awx.awx: %s' % (ANSIBLE_WHEEL, done.stderr[-2000:])
        wheels = [n for n in os.listdir(CACHE) if n.endswith('.whl')]
    target = tmp_path_factory.mktemp('awx-collection')
    with zipfile.ZipFile(os.path.join(CACHE, sorted(wheels)[-1])) as wheel:
        members = [n for n in wheel.namelist() if n.startswith('ansible_collections/awx/awx/')]
        assert members, 'no awx.awx in %s' % wheels
        wheel.extractall(target, members)
    return str(target)


def _env(awx_collection):
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=awx_collection + os.pathsep + os.environ['ANSIBLE_COLLECTIONS_PATH'],
                PATH=VENV_BIN + os.pathsep + os.environ.get('PATH', ''), ANSIBLE_NOCOLOR='1', NO_COLOR='1')


def test_the_workflow_playbook_lints_and_parses(awx_collection):
    env = _env(awx_collection)
    syntax = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '--syntax-check', WORKFLOW],
                            cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = subprocess.run([os.path.join(VENV_BIN, 'ansible-lint'), '--offline', '--profile', 'production',
                           os.path.relpath(WORKFLOW, REPO)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=600)
    assert lint.returncode == 0, lint.stdout[-4000:] + lint.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in lint.stdout + lint.stderr


def test_the_workflow_wires_the_stages_as_the_guide_says():
    with open(WORKFLOW, encoding='utf-8') as handle:
        play = yaml.safe_load(handle)[0]
    tasks = {task['name']: task for task in play['tasks']}
    settings = play['vars']
    templates = {t['awx.awx.job_template']['name']: t['awx.awx.job_template'] for t in tasks.values()
                 if 'awx.awx.job_template' in t}
    playbooks = settings['autotls_awx_playbooks']
    assert {name: t['playbook'] for name, t in templates.items()} == {
        'autotls issue': '{{ autotls_awx_playbooks.issue }}', 'autotls deploy': '{{ autotls_awx_playbooks.deploy }}',
        'autotls check': '{{ autotls_awx_playbooks.check }}'}
    for path in playbooks.values():
        assert os.path.isfile(os.path.join(REPO, path)), path
    # Only the deploy stage is sliced; the issue stage runs once, never two at a time.
    assert templates['autotls issue']['job_slice_count'] == 1 and templates['autotls issue']['allow_simultaneous'] is False
    assert templates['autotls deploy']['job_slice_count'] == '{{ autotls_awx_deploy_slices }}'
    assert templates['autotls check']['job_slice_count'] == 1
    # The issue job has every credential the issue stage reads; the others no ACME account.
    assert 'autotls ACME account' in templates['autotls issue']['credentials']
    assert 'autotls ACME account' not in templates['autotls deploy']['credentials']
    # Every documented credential type is created from its file.
    assert sorted(settings['__credential_types']) == sorted(os.listdir(CREDENTIAL_TYPES))
    # issue -> deploy -> check.
    nodes = {n['identifier']: n for n in tasks['Create the workflow']['awx.awx.workflow_job_template']['workflow_nodes']}
    assert nodes['issue']['related']['always_nodes'] == [{'identifier': 'deploy'}]
    assert nodes['deploy']['related']['always_nodes'] == [{'identifier': 'check'}]
    assert [nodes[n]['unified_job_template']['name'] for n in ('issue', 'deploy', 'check')] == [
        'autotls issue', 'autotls deploy', 'autotls check']
    schedule = tasks['Schedule the workflow every night']['awx.awx.schedule']
    assert schedule['unified_job_template'] == 'autotls nightly' and 'FREQ=DAILY' in schedule['rrule']
    assert 'random(seed=' in settings['autotls_awx_schedule_minute']
