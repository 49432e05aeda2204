# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Records every task result as a JSON line, for tests to read back reliably.

Enabled by the test bed's run_playbook helper alongside the default stdout callback
(which stays readable in pytest output). The file is named by AUTOTLS_RESULTS_FILE.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: record_results
type: aggregate
short_description: write each task result as a JSON line to $AUTOTLS_RESULTS_FILE
description: Test helper of the autotls.acme test bed.
requirements:
  - AUTOTLS_RESULTS_FILE set in the environment
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'record_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('AUTOTLS_RESULTS_FILE')

    def _write(self, record):
        if not self._path:
            return
        # One write per line, flushed at once: the file is complete even if ansible dies.
        with open(self._path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record, default=repr, sort_keys=True) + '\n')

    def _record(self, result, status, ignore_errors=False):
        # 2.19 names (result, task, host, warnings); the underscored ones work before.
        data = dict(getattr(result, 'result', None) or result._result)
        task = getattr(result, 'task', None) or result._task
        host = getattr(result, 'host', None) or result._host
        warnings = [getattr(getattr(w, 'event', None), 'msg', None) or str(w)
                    for w in getattr(result, 'warnings', None) or data.get('warnings') or ()]
        self._write({
            'kind': 'task',
            'task': task.get_name(),
            'action': task.action,
            'host': host.get_name(),
            'warnings': warnings,
            'status': status,
            'changed': bool(data.get('changed', False)),
            'failed': status in ('failed', 'unreachable'),
            'ignore_errors': bool(ignore_errors),
            'result': data,
        })

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed', ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_runner_on_async_failed(self, result):
        self._record(result, 'failed')

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._write({'kind': 'stats', 'stats': {h: stats.summarize(h) for h in hosts}})
