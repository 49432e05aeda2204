# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper: one JSON line per finished task, with its duration and result.

Enabled by bench/issue_dns01.py for both the autotls.acme run (project venv) and the
community.crypto baseline (separate venv); written to $AUTOTLS_BENCH_RECORD.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: bench_record
type: aggregate
short_description: write each finished task (duration, status, result) as a JSON line
description: Benchmark helper of autotls.acme; not shipped with the collection.
requirements:
  - AUTOTLS_BENCH_RECORD set in the environment
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_record'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('AUTOTLS_BENCH_RECORD')
        self._started = {}

    def _write(self, record):
        if self._path:
            with open(self._path, 'a', encoding='utf-8') as f:
                f.write(json.dumps(record, default=repr, sort_keys=True) + '\n')

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.monotonic()

    def v2_playbook_on_handler_task_start(self, task):
        self._started[task._uuid] = time.monotonic()

    def _record(self, result, status):
        task = getattr(result, 'task', None) or result._task
        data = dict(getattr(result, 'result', None) or result._result)
        started = self._started.get(task._uuid)
        self._write({
            'task': task.get_name(),
            'action': task.action,
            'status': status,
            'seconds': None if started is None else round(time.monotonic() - started, 3),
            'result': data,
        })

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')
