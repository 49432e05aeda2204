# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: drifted
short_description: The certificates a host still serves with another serial than the store's
version_added: 0.1.0
description:
  - Pairs M(autotls.acme.cert_info)'s results with C(expected) of C(autotls.acme.drift_targets) (same order) and returns
    those served with another serial. Unreachable endpoints are left out.
options:
  _input:
    description: M(autotls.acme.cert_info)'s C(results) for the endpoints of C(autotls.acme.drift_targets).
    type: list
    elements: dict
    required: true
  expected:
    description: C(expected) of C(autotls.acme.drift_targets).
    type: list
    elements: dict
    required: true
  host:
    description: Only this host's (an inventory name); all hosts when left out.
    type: str
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Reload where an older certificate is still served
  ansible.builtin.debug:
    msg: "{{ item.certificate }}: {{ item.served_serial }} served, {{ item.stored_serial }} stored"
  loop: "{{ served.results | autotls.acme.drifted(drift.expected, inventory_hostname) }}"
'''

RETURN = r'''
_value:
  description: C(host), C(certificate), C(served_serial), C(stored_serial) for each drifted certificate.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as _impl


def drifted(served, expected, host=None):
    try:
        return _impl.drifted(served, expected, host)
    except (AutoTLSError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('drifted: %s' % exc)


class FilterModule:
    def filters(self):
        return {'drifted': drifted}
