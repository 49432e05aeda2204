# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: cert_deploy_plan
short_description: The certificate files a host needs, from one look at the store and one at the host
version_added: 0.1.0
description:
  - Compares the files of the store (on the controller) with those on the host, by checksum, owner, group and mode,
    and returns only the files to copy. Used by the role C(autotls.acme.cert_deploy) so that a run where nothing
    changed costs no per-file work on the host.
  - Files are named C(<name>/<file>); paths may carry any prefix.
  - Modes must be octal (C('0640')); a symbolic mode is an error that says so.
options:
  _input:
    description: The C(files) list of C(ansible.builtin.find) (with C(get_checksum)) over the store.
    type: list
    elements: dict
    required: true
  host_files:
    description: The C(files) list of C(ansible.builtin.find) (with C(get_checksum)) over the host's certificate directory.
    type: list
    elements: dict
    required: true
  certificates:
    description: The certificates to deploy, each with C(name) and optionally C(owner), C(group), C(mode), C(key_mode).
    type: list
    elements: dict
    required: true
  defaults:
    description: C(owner), C(group), C(mode) and C(key_mode) for certificates that do not set them.
    type: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Plan the changes
  ansible.builtin.set_fact:
    changes: >-
      {{ store_find.files | autotls.acme.cert_deploy_plan(host_find.files, certificates,
         {'owner': 'root', 'group': 'root', 'mode': '0644', 'key_mode': '0600'}) }}
'''

RETURN = r'''
_value:
  description:
    - One dict per file to copy, in declaration order, with C(path) (C(<name>/<file>)), C(owner), C(group),
      C(mode) (octal string) and C(reason) (C(new), C(content) or C(attributes)), as the module
      C(autotls.acme.cert_files) takes them.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._deploy.plan import deploy_plan
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError


def cert_deploy_plan(store_files, host_files, certificates, defaults):
    try:
        return deploy_plan(store_files, host_files, certificates, defaults)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'cert_deploy_plan': cert_deploy_plan}
