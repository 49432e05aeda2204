# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: certificate_files
short_description: The file paths of a certificate (cert.pem, chain.pem, fullchain.pem, privkey.pem)
version_added: 0.1.0
description:
  - The collection names the files of a certificate in one place; roles and playbooks take them from this filter.
  - The input is the certificate's directory (C(<dir>/<name>)); an empty string gives the bare file names.
options:
  _input:
    description: The certificate's directory, or C('') for the file names alone.
    type: str
    required: true
  kinds:
    description: Which files, in this order; by default all four.
    type: list
    elements: str
    choices: [cert, chain, fullchain, key]
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: The four file names
  ansible.builtin.debug:
    msg: "{{ '' | autotls.acme.certificate_files }}"   # [cert.pem, chain.pem, fullchain.pem, privkey.pem]

- name: Where nginx finds one certificate
  ansible.builtin.debug:
    msg: "{{ '/etc/autotls/certs/app1' | autotls.acme.certificate_files(['fullchain', 'key']) }}"
'''

RETURN = r'''
_value:
  description: The paths, in the order asked for.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import file_paths


def certificate_files(directory, kinds=None):
    try:
        return file_paths(directory or '', kinds)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'certificate_files': certificate_files}
