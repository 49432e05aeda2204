#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: nginx_servers
short_description: Write all of a host's TLS server files in one module run, check them, put them back if rejected
version_added: 0.1.0
description:
  - Writes C(<conf_dir>/<prefix><name>.conf) for each entry of O(servers) whose file is missing or differs
    (content, mode C(0644), owner and group root), in one module run instead of one C(ansible.builtin.template)
    per certificate. Used by the role C(autotls.acme.nginx_tls), which renders the files on the controller
    from the certificates its model validated.
  - When anything was written and O(validate) is given, runs it (C(nginx -t)). When it fails, every file written
    puts its previous content back (a new one is removed) and RV(rejected) is true; the task does not fail by
    itself, so that the role can fail the host with a message naming the certificates. Nothing is reloaded here.
  - With O(prune), removes the files C(<prefix>*.conf) of servers no longer listed, after the check passed.
author:
  - autotls.acme maintainers (@autotls)
attributes:
  check_mode:
    support: full
    description: Reports the files that would be written or removed; writes nothing and runs no check.
  diff_mode:
    support: none
    description: No diff is shown.
  idempotent:
    support: full
    description: Files already in place are not written again, and the check then does not run.
options:
  conf_dir:
    description: The directory nginx includes the server blocks from.
    type: path
    required: true
  prefix:
    description:
      - The file name prefix of the servers this module manages (letters, digits, C(.), C(-), C(_); not empty).
      - Every C(<prefix>*.conf) of O(conf_dir) counts as one of them, so an empty prefix or one with C(/) is refused.
    type: str
    required: true
  servers:
    description: One entry per TLS server.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The certificate's name; the file is C(<prefix><name>.conf).
        type: str
        required: true
      content:
        description: The rendered server block.
        type: str
        required: true
  validate:
    description: The check to run after writing, as a list of arguments (for example C([nginx, -t])).
    type: list
    elements: str
  prune:
    description: Remove C(<prefix>*.conf) files of servers not in O(servers).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Write the TLS servers and check them
  autotls.acme.nginx_servers:
    conf_dir: /etc/nginx/conf.d
    prefix: autotls-tls-
    servers:
      - name: site
        content: "{{ lookup('ansible.builtin.template', 'tls.conf.j2') }}"
    validate: [nginx, -t]
  register: servers
'''

RETURN = r'''
written:
  description: The names of the servers whose file was written (in O(servers) order); put back again when RV(rejected).
  returned: always
  type: list
  elements: str
paths:
  description: The files written.
  returned: always
  type: list
  elements: str
removed:
  description: The files of servers no longer listed that were removed.
  returned: always
  type: list
  elements: str
rejected:
  description: The check failed; every file written has its previous content back (or is gone when it was new).
  returned: always
  type: bool
error:
  description: What the check printed when it failed.
  returned: when rejected
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.servers import ServerFiles, apply


def main():
    module = AnsibleModule(
        argument_spec=dict(
            conf_dir=dict(type='path', required=True),
            prefix=dict(type='str', required=True),
            servers=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                content=dict(type='str', required=True),
            )),
            validate=dict(type='list', elements='str'),
            prune=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    check = None
    if params['validate']:
        def check():
            try:
                return module.run_command(params['validate'], handle_exceptions=False)
            except OSError as exc:
                return 127, '', 'Cannot run %s: %s' % (' '.join(params['validate']), exc)
    try:
        files = ServerFiles(params['conf_dir'], params['prefix'], params['servers'], uid=0, gid=0)
        result = apply(files, check, prune=params['prune'], check_mode=module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg)
    except OSError as exc:
        module.fail_json(msg='Could not write the TLS servers under %s (the previous ones are back; check free space '
                             'and permissions there): %s' % (params['conf_dir'], exc))
    if not result['rejected']:
        result.pop('error')
    result.pop('rc')
    module.exit_json(changed=bool(result['written'] or result['removed']) and not result['rejected'], **result)


if __name__ == '__main__':
    main()
