# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: traefik_static_config
short_description: Traefik's static configuration for its own ACME resolver, from checked role variables
version_added: 0.1.0
description:
  - Checks the variables of the role C(autotls.acme.traefik_acme) and returns Traefik's static configuration, to be
    written as YAML - entry points C(web) and C(websecure) on the host's address, the file provider's directory, and
    a certificate resolver whose C(caServer) is the CA's ACME directory, with the HTTP-01 or TLS-ALPN-01 challenge.
  - An unknown variable, a bad value or an extra key that the role writes itself is an error that names the variable
    and the value.
options:
  _input:
    description: The role variables, C({variable name - value}).
    type: dict
    required: true
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Write Traefik's static configuration
  ansible.builtin.copy:
    content: >-
      {{ {'autotls_acme_directory': autotls_acme_directory,
          'autotls_traefik_listen_address': '10.0.0.5'} | autotls.acme.traefik_static_config | to_nice_yaml(indent=2) }}
    dest: /etc/traefik/traefik.yml
    mode: "0644"
'''

RETURN = r'''
_value:
  description: Traefik's static configuration.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.traefik_acme import static_config


def traefik_static_config(variables):
    if not isinstance(variables, dict):
        raise AnsibleFilterError('traefik_static_config takes a dict of variable names and values, not %r.'
                                 % (variables,))
    try:
        return static_config(variables)
    except AutoTLSError as exc:
        raise AnsibleFilterError('traefik_static_config: %s' % exc)


class FilterModule:
    def filters(self):
        return {'traefik_static_config': traefik_static_config}
