#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: host_manifest
short_description: Record which certificates the collection wrote on a host, and take retired ones off it
version_added: 0.1.0
description:
  - Keeps C(<dest_dir>/.autotls-manifest.json) (root, C(0600)), the list of the certificates the collection
    installed in C(<dest_dir>/<name>/). The role C(autotls.acme.cert_deploy) records what it deployed;
    C(playbooks/retire.yml) reads it and retires what no host declares any more.
  - V(record) adds O(names) whose directory is on the host. V(read) changes nothing and returns the names.
  - V(retire) takes O(names) off the host, only those the manifest lists. First their server blocks
    C(<conf_dir>/<prefix><name>.conf) go and their directories C(<dest_dir>/<name>/) are moved aside, and
    O(validate) runs (C(nginx -t)); when it fails (a configuration still reads the files) both are put back and
    nothing is removed. Then the directories go and the manifest forgets them.
    Anything else (a directory the collection did not write) is left alone and listed in RV(not_ours).
  - Nothing is followed through a symbolic link; O(dest_dir) and its parents must belong to root and be writable by
    nobody else, as for M(autotls.acme.cert_files).
author:
  - autotls.acme maintainers (@autotls)
attributes:
  check_mode:
    support: full
    description: Lists what would be recorded or removed; writes and removes nothing, runs no check.
  diff_mode:
    support: none
    description: No diff is shown.
  idempotent:
    support: full
    description: Names recorded or retired already change nothing.
options:
  step:
    description: V(record), V(read) or V(retire).
    type: str
    choices: [record, read, retire]
    required: true
  dest_dir:
    description: The host's certificate directory (C(autotls_cert_dir)).
    type: path
    required: true
  names:
    description: Certificate names to record or retire.
    type: list
    elements: str
    default: []
  conf_dir:
    description: With V(retire), the directory of the server blocks (C(autotls_nginx_conf_dir)); left out, none are removed.
    type: path
  prefix:
    description: With V(retire), the file name prefix of the collection's server blocks.
    type: str
    default: autotls-tls-
  validate:
    description: With V(retire), the server's check, as a list of arguments (C([nginx, -t])), run after the server blocks went.
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Take a retired certificate off a host
  autotls.acme.host_manifest:
    step: retire
    dest_dir: /etc/autotls/certs
    names: [old-app]
    conf_dir: /etc/nginx/conf.d
    validate: [nginx, -t]
'''

RETURN = r'''
names:
  description: With V(read), the certificates the manifest lists; with V(record), those added.
  returned: with read and record
  type: list
  elements: str
retired:
  description: With V(retire), the certificates taken off (or, in check mode, that would be).
  returned: with retire
  type: list
  elements: str
paths:
  description: With V(retire), the server blocks and directories removed.
  returned: with retire
  type: list
  elements: str
not_ours:
  description: With V(retire), certificates whose directory is on the host but that the manifest does not list; left alone.
  returned: with retire
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import HostCertificates
from ansible_collections.autotls.acme.plugins.module_utils._deploy.manifest import read_manifest, record, retire


def main():
    module = AnsibleModule(argument_spec=dict(
        step=dict(type='str', required=True, choices=['record', 'read', 'retire']),
        dest_dir=dict(type='path', required=True),
        names=dict(type='list', elements='str', default=[]),
        conf_dir=dict(type='path'),
        prefix=dict(type='str', default='autotls-tls-'),
        validate=dict(type='list', elements='str'),
    ), supports_check_mode=True)
    params = module.params
    try:
        with HostCertificates(params['dest_dir'], check_mode=module.check_mode or params['step'] == 'read') as host:
            if params['step'] == 'read':
                module.exit_json(changed=False, names=sorted(read_manifest(host)))
            if params['step'] == 'record':
                added = record(host, params['names'])
                module.exit_json(changed=bool(added), names=added)

            def run_check():
                return module.run_command(params['validate'])

            done = retire(host, params['names'], params['conf_dir'], params['prefix'],
                          run_check if params['validate'] else None)
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except FileNotFoundError:
        # No certificate directory on this host: nothing recorded, nothing to retire.
        module.exit_json(changed=False, names=[], retired=[], paths=[], not_ours=[])
    except OSError as exc:
        module.fail_json(msg='Could not %s in %s: %s' % (params['step'], params['dest_dir'], exc))
    module.exit_json(changed=bool(done['retired']), **done)


if __name__ == '__main__':
    main()
