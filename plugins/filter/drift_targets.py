# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: drift_targets
short_description: After a renewal, the endpoints to look at and the serial each should serve
version_added: 0.1.0
description:
  - For every certificate result that did not fail and has a serial, each host that serves it (C(ansible_host),
    C(autotls_tls_port)), asked for its first plain domain.
options:
  _input:
    description: The certificate results (C(autotls_issue_results)).
    type: list
    elements: dict
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Where to look
  ansible.builtin.set_fact:
    drift: "{{ autotls_issue_results | autotls.acme.drift_targets(hostvars) }}"
'''

RETURN = r'''
_value:
  description:
    - C(endpoints) (as M(autotls.acme.cert_info) takes them) and C(expected) (C(host), C(certificate), C(serial)),
      in the same order.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as _impl


def drift_targets(results, hostvars):
    try:
        return _impl.drift_targets(results, hostvars)
    except (AutoTLSError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('drift_targets: %s' % exc)


class FilterModule:
    def filters(self):
        return {'drift_targets': drift_targets}
