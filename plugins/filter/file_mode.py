# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: file_mode
short_description: Check a certificate or key file mode, a quoted octal string
version_added: 0.1.0
description:
  - The collection's one mode rule. Accepted are octal strings (C('0640'), C('640')) of at most C('0777').
  - A number is refused with a message to quote it (YAML reads an unquoted C(660) as the decimal number 660, mode C(01224)).
  - With O(key=true), a mode that gives other users any access (C('0644')) is refused.
  - Returns the mode as a four-digit octal string.
options:
  _input:
    description: The mode.
    type: raw
    required: true
  setting:
    description: The name of the setting, for messages.
    type: str
  key:
    description: Whether this is the mode of a private key.
    type: bool
    default: false
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Refuse a world-readable key mode before anything is written
  ansible.builtin.assert:
    that: autotls_key_mode | autotls.acme.file_mode('autotls_key_mode', key=true) is string
'''

RETURN = r'''
_value:
  description: The mode, four octal digits.
  type: str
  sample: '0640'
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import normalize_mode


def file_mode(mode, setting=None, key=False):
    try:
        return normalize_mode(mode, setting, key=bool(key))
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'file_mode': file_mode}
