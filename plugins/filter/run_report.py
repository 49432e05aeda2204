# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: run_report
short_description: The summary a run ends with, its totals line and what to fail it with
version_added: 0.1.0
description:
  - Builds, from the certificate results and the output of C(autotls.acme.run_outcome), the same summary
    M(autotls.acme.notify) sends - run-level failures, hosts failed or unreachable, renewed, failed, expiring
    soon, redeployed - so that the job output carries it also without Slack or email.
options:
  _input:
    description: The per-certificate results (C(autotls_issue_results)).
    type: list
    elements: dict
    required: true
  outcome:
    description: What C(autotls.acme.run_outcome) returned.
    type: dict
    required: true
  expiring_days:
    description: As O(autotls.acme.notify#module:expiring_days).
    type: int
    default: 14
  title:
    description: First line of the summary; defaults to C(autotls run on <controller hostname>).
    type: str
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Show the summary, ending with the totals line
  ansible.builtin.debug:
    msg: "{{ (autotls_issue_results | autotls.acme.run_report(outcome)).lines }}"
  run_once: true
'''

RETURN = r'''
_value:
  description:
    - C(text) (the summary as the notify module sends it), C(lines) (the same as a list of lines, ending with the
      totals line), C(totals_line) (issued, renewed, unchanged, failed, hosts deployed, hosts failed), C(counts),
      and C(failures) (one line per run-level failure, failed certificate and failed host; empty when all went well).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._notify.run import run_report as _run_report


def run_report(results, outcome, expiring_days=14, title=None):
    try:
        return _run_report(results, outcome, int(expiring_days), title or None)
    except (AutoTLSError, ValueError, TypeError) as exc:
        raise AnsibleFilterError('run_report: %s' % exc)


class FilterModule:
    def filters(self):
        return {'run_report': run_report}
