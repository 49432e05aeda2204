# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: served_certificates
short_description: What one host serves, with the store's serial - the input of the metrics_textfile module
version_added: 0.1.0
description:
  - Pairs M(autotls.acme.cert_info)'s results with the targets of C(autotls.acme.check_targets) (same order) and keeps
    the live endpoints of one host, each with the serial of the store's certificate of the same name, so that
    M(autotls.acme.metrics_textfile) can say whether the host serves the store's certificate.
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
  host:
    description: The inventory name of the host.
    type: str
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Write the host's metrics
  autotls.acme.metrics_textfile:
    path: /var/lib/prometheus/node-exporter/autotls.prom
    certificates: "{{ info.results | autotls.acme.served_certificates(targets, inventory_hostname) }}"
'''

RETURN = r'''
_value:
  description:
    - One dict per certificate and endpoint of the host - C(certificate), C(server_name), C(port), C(reachable),
      C(store_serial) and, when the host answered, C(serial), C(issuer), C(not_before), C(not_after), C(renew_at).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as _impl


def served_certificates(results, targets, host):
    try:
        return _impl.served_certificates(results, targets, str(host))
    except (AutoTLSError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('served_certificates: %s' % exc)


class FilterModule:
    def filters(self):
        return {'served_certificates': served_certificates}
