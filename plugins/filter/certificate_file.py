# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: certificate_file
short_description: The path of one file of a certificate (cert, chain, fullchain or key)
version_added: 0.1.0
description:
  - The collection names the files of a certificate in one place; templates take them from this filter.
  - The input is the certificate's directory (C(<dir>/<name>)); an empty string gives the bare file name.
options:
  _input:
    description: The certificate's directory, or C('') for the file name alone.
    type: str
    required: true
  kind:
    description: Which file.
    type: str
    choices: [cert, chain, fullchain, key]
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: The key file of app1 on the host
  ansible.builtin.debug:
    msg: "{{ '/etc/autotls/certs/app1' | autotls.acme.certificate_file('key') }}"   # .../app1/privkey.pem
'''

RETURN = r'''
_value:
  description: The path.
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import file_path


def certificate_file(directory, kind):
    try:
        return file_path(directory or '', kind)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'certificate_file': certificate_file}
