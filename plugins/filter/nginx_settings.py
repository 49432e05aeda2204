# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: nginx_settings
short_description: Check role variables before they are written into nginx's configuration
version_added: 0.1.0
description:
  - Checks the variables of the role C(autotls.acme.nginx_tls) that its templates write into nginx's configuration
    as they are, by the collection's model of a declared certificate.
  - A dict (C(autotls_nginx_server_defaults)) is checked as a certificate's C(nginx) entry - C(root) an absolute
    directory, C(proxy_pass) one URL, C(extra) directives whose braces and quotes stay inside the server block, as
    nginx reads them - and an unknown key is an error.
  - A string, or each string of a list, is one value of a directive - no white space, quotes, braces, C(;), C(#) or
    backslash.
  - Errors name the variable and the value.
options:
  _input:
    description: The variables to check, C({variable name - value}).
    type: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Check what the TLS servers will be rendered from
  ansible.builtin.assert:
    that:
      - >-
        {'autotls_nginx_server_defaults': autotls_nginx_server_defaults,
         'autotls_nginx_ssl_ciphers': autotls_nginx_ssl_ciphers} | autotls.acme.nginx_settings is mapping
'''

RETURN = r'''
_value:
  description: The input, unchanged.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.certificate import nginx_settings as _nginx_settings


def nginx_settings(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError('nginx_settings takes a dict of variable names and values, not %r.' % (settings,))
    try:
        return _nginx_settings(settings)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'nginx_settings': nginx_settings}
