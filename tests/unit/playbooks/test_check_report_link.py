# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""check.yml: the presigned report link (a bearer link for days) stays out of the job's events.

tests/integration/test_observe.py checks the real run (the link in the Slack message, not in
what the callbacks received); this checks the wiring that makes it so, without a run.
"""

import os

import yaml

from ansible_collections.autotls.acme.plugins.modules.notify import argument_spec as notify_spec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _tasks():
    with open(os.path.join(REPO, 'playbooks', 'check.yml'), encoding='utf-8') as handle:
        return yaml.safe_load(handle)[0]['tasks']


def test_only_the_notify_module_receives_the_link_and_masks_it():
    tasks = _tasks()
    publish = [task for task in tasks if 'autotls.acme.report_publish' in task]
    assert len(publish) == 1 and publish[0]['no_log'] is True, publish
    registered = publish[0]['register']
    users = [task for task in tasks if registered in yaml.safe_dump(task) and task is not publish[0]]
    # The tasks that read the registered result: the failure, the non-secret summary, the notify call.
    for task in users:
        text = yaml.safe_dump(task)
        if '%s.url' % registered in text:
            assert 'autotls.acme.notify' in task and '%s.url' % registered in task['autotls.acme.notify']['report_url']
        else:
            assert 'url' not in text.replace('latest_key', '').replace('report_url', ''), task
    # The notify module masks it wherever it would appear in its result (the summary text, the invocation).
    assert notify_spec()['report_url'].get('no_log') is True
