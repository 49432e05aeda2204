#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: http01_tokens
short_description: Place or remove all of a host's ACME HTTP-01 tokens in one module run
version_added: 0.1.0
description:
  - Writes each token's key authorization to C(<webroot>/.well-known/acme-challenge/<token>) (files C(0644),
    directories C(0755), created when missing), or removes those files, for all the tokens of a host in one
    module run instead of one C(ansible.builtin.copy) per token. Used by the role C(autotls.acme.issue) with the
    C(http01_tokens) that M(autotls.acme.certificate) returns in its order step.
  - Each token and key authorization is checked (RFC 8555 form) before anything is written.
  - A key authorization is public by design (the CA fetches it over plain HTTP); no secret passes through here.
  - Nothing under O(webroot) is followed when it is a symbolic link - the module runs as root and whoever can write
    into the webroot must not be able to point its writes or removals elsewhere. A linked C(.well-known) or
    C(acme-challenge) fails the task naming it, before anything is written or removed; a link in a token's place is
    replaced by the token file, never followed. O(webroot) itself may be a link.
author:
  - autotls.acme maintainers (@autotls)
attributes:
  check_mode:
    support: full
    description: Reports the files that would be written or removed; changes nothing.
  diff_mode:
    support: none
    description: No diff is shown.
  idempotent:
    support: full
    description: Tokens already in place, or already removed, are not written or removed again.
options:
  state:
    description:
      - V(present) writes the tokens, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  webroot:
    description:
      - The directory nginx serves C(/.well-known/acme-challenge/) from (the role variable C(autotls_acme_webroot)).
    type: path
    required: true
  tokens:
    description:
      - The entries of the C(http01_tokens) of M(autotls.acme.certificate) for this host, unchanged.
    type: list
    elements: dict
    required: true
    suboptions:
      token:
        description: The ACME token (base64url).
        type: str
        required: true
      key_authorization:
        description: C(<token>.<account key thumbprint>); required with O(state=present).
        type: str
      path:
        description: C(.well-known/acme-challenge/<token>); checked against O(tokens[].token) when given.
        type: str
      host:
        description: The host that serves the name (informational).
        type: str
      certificate:
        description: The certificate the token is for (informational).
        type: str
      domain:
        description: The name the token proves (informational).
        type: str
'''

EXAMPLES = r'''
- name: Place the HTTP-01 tokens of this host
  autotls.acme.http01_tokens:
    webroot: /var/www/acme
    tokens: "{{ ordered.http01_tokens | selectattr('host', 'equalto', inventory_hostname) | list }}"

- name: Remove them
  autotls.acme.http01_tokens:
    state: absent
    webroot: /var/www/acme
    tokens: "{{ ordered.http01_tokens | selectattr('host', 'equalto', inventory_hostname) | list }}"
'''

RETURN = r'''
paths:
  description: The files (relative to O(webroot)) written or removed.
  returned: always
  type: list
  elements: str
  sample: [.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.http01 import place, remove


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            webroot=dict(type='path', required=True),
            tokens=dict(type='list', elements='dict', required=True, no_log=False, options=dict(
                token=dict(type='str', required=True, no_log=False),
                key_authorization=dict(type='str', no_log=False),
                path=dict(type='str'),
                host=dict(type='str'),
                certificate=dict(type='str'),
                domain=dict(type='str'),
            )),
        ),
        supports_check_mode=True,
    )
    params = module.params
    step = place if params['state'] == 'present' else remove
    try:
        paths = step(params['webroot'], params['tokens'], check_mode=module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg)
    except OSError as exc:
        module.fail_json(msg='Could not %s the HTTP-01 tokens under %s (check that the directory exists and is '
                             'writable): %s' % ('write' if params['state'] == 'present' else 'remove',
                                                params['webroot'], exc))
    module.exit_json(changed=bool(paths), paths=paths)


if __name__ == '__main__':
    main()
