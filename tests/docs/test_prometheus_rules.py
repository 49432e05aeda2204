# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped alert rules pass `promtool test rules`, and the metrics the collection writes
pass `promtool check metrics` (Prometheus' own lint of names, units and suffixes).

promtool comes with Debian's prometheus package (scripts/bootstrap.sh installs it).
"""

import os
import shutil
import subprocess

from ansible_collections.autotls.acme.plugins.module_utils._metrics import run, textfile
from ansible_collections.autotls.acme.plugins.module_utils._metrics.exposition import render

RULES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         'docs', 'prometheus')


def _promtool():
    path = shutil.which('promtool')
    assert path, 'promtool is missing: run scripts/bootstrap.sh (Debian package prometheus)'
    return path


def test_alert_rules_pass_their_unit_tests():
    checked = subprocess.run([_promtool(), 'check', 'rules', 'alerts.yml'], cwd=RULES_DIR,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([_promtool(), 'test', 'rules', 'alerts_test.yml'], cwd=RULES_DIR,
                            capture_output=True, text=True, check=False)
    assert tested.returncode == 0 and 'SUCCESS' in tested.stdout, tested.stdout + tested.stderr


def test_the_metrics_follow_prometheus_naming_conventions():
    served = dict(certificate='app1', server_name='app1.example.test', port=443, reachable=True, serial='aa',
                  issuer='CA', not_before='2027-01-01T00:00:00Z', not_after='2027-04-01T00:00:00Z',
                  renew_at='2027-03-02T00:00:00Z', store_serial='aa')
    results = [dict(name='a', action='issue', changed=True), dict(name='b', action='none', deferred=True)]
    for text in (textfile.render_textfile([served]),
                 render(run.run_families(results, {}, [['start', 1], ['issue', 2]], True, 3))):
        linted = subprocess.run([_promtool(), 'check', 'metrics'], input=text, capture_output=True, text=True,
                                check=False)
        assert linted.returncode == 0 and not linted.stdout.strip() and not linted.stderr.strip(), \
            (text, linted.stdout, linted.stderr)
