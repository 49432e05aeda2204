# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: issuance_entries
short_description: The keys of declared certificates that autotls.acme.certificate issues with
version_added: 0.1.0
description:
  - Validates each declared certificate and keeps only its issuance keys (C(name), C(domains), C(challenge),
    C(key_type), C(reuse_key), C(zone_id), C(profile), C(preferred_chain), C(force), C(hosts)). Deploy keys
    (C(owner), C(group), C(mode), C(key_mode)) and server keys (C(nginx)) are left out, so one entry that
    carries them does not stop the issuance of every certificate.
options:
  _input:
    description: Declared certificates, usually the output of P(autotls.acme.declared_certificates#filter).
    type: list
    elements: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Issue what the play's hosts declare
  autotls.acme.certificate:
    dest: /srv/autotls/certs
    acme_directory: letsencrypt
    account_key_src: /srv/autotls/account.pem
    certificates: "{{ hostvars | autotls.acme.declared_certificates(ansible_play_hosts_all) | autotls.acme.issuance_entries }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: One dict per certificate with its issuance keys only.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.certificate import (
    issuance_subset,
    validate_declared_certificate,
)


def issuance_entries(certificates):
    if isinstance(certificates, (str, bytes, dict)) or not hasattr(certificates, '__iter__'):
        raise AnsibleFilterError('issuance_entries takes a list of certificates, got %r' % (certificates,))
    try:
        return [issuance_subset(validate_declared_certificate(entry)) for entry in certificates]
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'issuance_entries': issuance_entries}
