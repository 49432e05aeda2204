# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: stored_certificates
short_description: The declared certificates the store holds, with the serial of each stored certificate
version_added: 0.1.0
description:
  - Pairs each declared certificate with M(autotls.acme.cert_info)'s result for its C(cert.pem) in the store and keeps
    those with a serial. The result is what P(autotls.acme.drift_targets#filter) takes, so a run that issued nothing
    (C(playbooks/deploy.yml)) can still find hosts that serve another certificate than the store's.
options:
  _input:
    description: The declared certificates (C(name), C(domains), C(hosts)), as P(autotls.acme.declared_certificates#filter) returns them.
    type: list
    elements: dict
    required: true
  stored:
    description: M(autotls.acme.cert_info)'s C(results) for the certificates' C(cert.pem) files in the store, in the same order.
    type: list
    elements: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: The store's serials, for the drift check
  ansible.builtin.set_fact:
    stored: "{{ declared | autotls.acme.stored_certificates(stored_info.results) }}"
'''

RETURN = r'''
_value:
  description: C(name), C(domains), C(hosts) and C(serial) of each certificate whose stored file has one.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as _impl


def stored_certificates(declared, stored):
    try:
        return _impl.stored_certificates(declared, stored)
    except (AutoTLSError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('stored_certificates: %s' % exc)


class FilterModule:
    def filters(self):
        return {'stored_certificates': stored_certificates}
