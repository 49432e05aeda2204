# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: issue_rounds
short_description: One result per certificate from the rounds of an issue run
version_added: 0.1.0
description:
  - The issue role orders, places challenges and finishes in rounds; a certificate whose CA failed on its side in
    the finishing step is ordered from the next issuer in the next round. This filter keeps each certificate's last
    word, and the failures of whole steps.
options:
  _input:
    description: One dict per round, with C(ordered) and C(finished), the results of the two certificate tasks.
    type: list
    elements: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: What the run issued
  ansible.builtin.set_fact:
    issued: "{{ (rounds | autotls.acme.issue_rounds).results }}"
'''

RETURN = r'''
_value:
  description: C(results), one result per certificate (as M(autotls.acme.certificate) returns them), and C(errors).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import merge_rounds


def issue_rounds(rounds):
    if not isinstance(rounds, list):
        raise AnsibleFilterError('issue_rounds takes a list of rounds, got %r' % (rounds,))
    return merge_rounds(rounds)


class FilterModule:
    def filters(self):
        return {'issue_rounds': issue_rounds}
