# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: retirement_report
short_description: One line per retired certificate - the hosts it was taken off, the store, the revocation
version_added: 0.1.0
description:
  - What C(playbooks/retire.yml) shows at its end.
options:
  _input:
    description: What C(autotls.acme.retirement_plan) returned.
    type: list
    elements: dict
    required: true
  store_results:
    description: The registered results of M(autotls.acme.revoke) looped over the certificates in the store.
    type: list
    elements: dict
  check_mode:
    description: Whether the run was a dry run (C(ansible_check_mode)); the lines then say "would be".
    type: bool
    default: false
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Report what was retired
  ansible.builtin.debug:
    msg: "{{ retired | autotls.acme.retirement_report(store.results, ansible_check_mode) }}"
'''

RETURN = r'''
_value:
  description: One line per certificate.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._store.retirement import retirement_report as _report


def retirement_report(plan, store_results=None, check_mode=False):
    try:
        return _report(plan, store_results, bool(check_mode))
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('retirement_report: %s' % exc)


class FilterModule:
    def filters(self):
        return {'retirement_report': retirement_report}
