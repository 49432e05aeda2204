# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: check_report
short_description: The expiry report of check.yml - rows with their colour, the text table and the problems
version_added: 0.1.0
description:
  - Pairs M(autotls.acme.cert_info)'s results with the targets of C(autotls.acme.check_targets) (same order) and gives each
    row a colour - red for a problem (C(missing), C(invalid), C(unreachable), C(expired), C(key_mismatch),
    C(name_mismatch), C(chain_invalid), C(unverified)), orange when due, yellow with fewer than O(warn_days) days left,
    else green.
options:
  _input:
    description: M(autotls.acme.cert_info)'s C(results).
    type: list
    elements: dict
    required: true
  targets:
    description: What C(autotls.acme.check_targets) returned, in the same order as the results.
    type: list
    elements: dict
    required: true
  summary:
    description: M(autotls.acme.cert_info)'s C(summary).
    type: dict
    required: true
  warn_days:
    description: Rows with fewer days left than this are yellow.
    type: float
    default: 14
  report_path:
    description: Where the HTML report is written, named on the last line.
    type: str
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Build the report
  ansible.builtin.set_fact:
    report: "{{ info.results | autotls.acme.check_report(targets, info.summary, 14) }}"
'''

RETURN = r'''
_value:
  description:
    - C(rows) (by certificate; C(certificate), C(host), C(source), C(where), C(status), C(colour), C(days_left),
      C(not_after), C(issuer), C(serial), C(domains), C(chain_verified), C(detail), C(schedule), C(not_before_at),
      C(not_after_at), C(renew_at), C(days)), C(lines) (a text
      table, the schedule advice and a line of counts), C(problems) (one line per row with a problem status),
      C(statuses) (most urgent first) and C(schedule) (C(certificate) and C(advice) of each certificate whose lifetime
      the run interval does not fit; it fails nothing).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as _impl


def check_report(results, targets, summary, warn_days=14, report_path=None):
    try:
        return _impl.check_report(results, targets, summary, float(warn_days), report_path)
    except (AutoTLSError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('check_report: %s' % exc)


class FilterModule:
    def filters(self):
        return {'check_report': check_report}
