# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: store_checksums
short_description: Checksums of the certificate files in the controller's store, without a module run
version_added: 0.1.0
description:
  - Reads C(<store>/<name>/<file>) for each certificate name and file on the controller (symbolic links followed)
    and returns the path and SHA-1 checksum of each that exists, as C(ansible.builtin.find) with C(get_checksum)
    lists them, for the filter C(autotls.acme.cert_deploy_plan). Runs in the controller's templating, so a host
    costs no extra module run on the controller.
options:
  _input:
    description: The store's certificate directory on the controller.
    type: path
    required: true
  names:
    description: The certificate names.
    type: list
    elements: str
    required: true
  files:
    description: The file names to read; by default the four files of a certificate.
    type: list
    elements: str
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Checksums of the store's files of two certificates
  ansible.builtin.debug:
    msg: "{{ '~/.local/share/autotls/certs' | expanduser | autotls.acme.store_checksums(['web', 'api']) }}"
'''

RETURN = r'''
_value:
  description: One dict per file found, with C(path) and C(checksum) (SHA-1, hexadecimal); never the content.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._deploy.plan import store_checksums as _store_checksums
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import CERTIFICATE_FILES


def store_checksums(source, names, files=None):
    try:
        return _store_checksums(str(source), [str(name) for name in names], list(files or CERTIFICATE_FILES))
    except OSError as exc:
        raise AnsibleFilterError('Cannot read the store %s: %s' % (source, exc))


class FilterModule:
    def filters(self):
        return {'store_checksums': store_checksums}
