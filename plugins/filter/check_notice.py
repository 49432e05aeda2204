# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: check_notice
short_description: check.yml's findings as the results and hosts the notify module sums up
version_added: 0.1.0
description:
  - Turns the rows of C(autotls.acme.check_report) into M(autotls.acme.notify)'s O(autotls.acme.notify#module:results)
    (one per stored certificate - failed when its status is a problem, else with its expiry, so the summary lists
    what expires soon) and O(autotls.acme.notify#module:hosts) (one per host that serves a certificate with a
    problem).
options:
  _input:
    description: What C(autotls.acme.check_report) returned.
    type: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Send the check's summary
  autotls.acme.notify:
    results: "{{ (report | autotls.acme.check_notice).results }}"
    hosts: "{{ (report | autotls.acme.check_notice).hosts }}"
    email:
      to: [ops@example.com]
      smtp_host: smtp.example.com
'''

RETURN = r'''
_value:
  description: C(results) and C(hosts), as M(autotls.acme.notify) takes them.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as _impl


def check_notice(report):
    try:
        return _impl.check_notice(report)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('check_notice: %s' % exc)


class FilterModule:
    def filters(self):
        return {'check_notice': check_notice}
