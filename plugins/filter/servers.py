# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: servers
short_description: What a host serves its certificates with (autotls_servers), validated and normalised
version_added: 0.2.0
description:
  - Takes a host's C(autotls_servers), a list of server kinds (V(nginx), V(haproxy), V(apache), V(custom)) or dicts
    C({kind, name, ...settings}), and returns one dict per server with every setting filled in (C(kind), C(name),
    C(validate) and C(reload) argv lists, C(notify), C(port), and the kind's own settings).
  - Empty or undefined gives the default, C([nginx]).
  - An unknown kind or key, a bad value or two servers of the same name is refused with a message naming the entry,
    the value and what to change. The kinds are described in docs/servers.md.
options:
  _input:
    description: The host's C(autotls_servers).
    type: raw
    required: true
  defaults:
    description:
      - Settings by kind used where an entry does not give its own, C({kind - {option - value}}).
      - A string C(validate) is split like a shell would (the role C(autotls.acme.cert_deploy) passes its
        C(autotls_deploy_validate_command) this way).
    type: dict
  where:
    description: The variable's name, for messages.
    type: str
    default: autotls_servers
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: What this host serves with
  ansible.builtin.set_fact:
    servers: "{{ autotls_servers | default(['nginx']) | autotls.acme.servers }}"
'''

RETURN = r'''
_value:
  description: One normalised dict per server, in the order given.
  type: list
  elements: dict
'''

import shlex

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.servers import VARIABLE, validate_servers


def servers(value, defaults=None, where=VARIABLE):
    kinds = {}
    for kind, settings in (defaults or {}).items():
        settings = dict(settings or {})
        if isinstance(settings.get('validate'), str):
            settings['validate'] = shlex.split(settings['validate'])
        kinds[kind] = {key: val for key, val in settings.items() if val is not None}
    try:
        return validate_servers(value, where, kinds)
    except AutoTLSError as exc:
        raise AnsibleFilterError(str(exc))
    except ValueError as exc:
        raise AnsibleFilterError('%s: %s' % (where, exc))


class FilterModule:
    def filters(self):
        return {'servers': servers}
