# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: metrics_settings
short_description: Check autotls_metrics and fill in its defaults
version_added: 0.1.0
description:
  - Checks the C(autotls_metrics) setting (see the collection's C(docs/metrics.md)) and returns it with its defaults.
    Unknown keys, a relative C(textfile_dir), a file name not ending in C(.prom), a mode others may write, a
    Pushgateway URL that is not C(http(s)://host[:port]) are refused with a message naming the key.
options:
  _input:
    description: The value of C(autotls_metrics); empty or undefined means no metrics.
    type: raw
    required: true
  where:
    description: How the setting is named in messages.
    type: str
    default: autotls_metrics
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Check the metrics settings
  ansible.builtin.set_fact:
    metrics: "{{ autotls_metrics | default({}) | autotls.acme.metrics_settings }}"
'''

RETURN = r'''
_value:
  description:
    - C(textfile_path) (the metrics file, or none), C(mode), and C(push) (none without a Pushgateway, else C(url),
      C(job), C(grouping), C(username), C(password), C(timeout), C(validate_certs), C(ca_path)).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._metrics.settings import metrics_settings as _impl


def metrics_settings(value, where='autotls_metrics'):
    try:
        return _impl(value, where)
    except AutoTLSError as exc:
        raise AnsibleFilterError('metrics_settings: %s' % exc)


class FilterModule:
    def filters(self):
        return {'metrics_settings': metrics_settings}
