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
    installed in C(<dest_dir>/<name>/) and, for each, the files beyond that directory its servers read (HAProxy's
    combined PEM, Apache's virtual host, a custom server's files, Traefik's dynamic file), with the SHA-256 of each
    file's content as recorded. The role
    C(autotls.acme.cert_deploy) records what it deployed; C(playbooks/retire.yml) reads it and retires what no host
    declares any more.
  - V(record) adds O(names) whose directory is on the host, with their O(files) and the SHA-256 of each file as it
    is then. V(read) changes nothing and returns the names.
  - V(retire) takes O(names) off the host, only those the manifest lists. Their server blocks
    C(<conf_dir>/<prefix><name>.conf) (where a server is of kind nginx) and the files the manifest lists for them
    go, their directories C(<dest_dir>/<name>/) are moved aside, and every server of O(servers) runs its check
    (its C(validate) argv; Traefik, which has none, fails when another file of its dynamic directory still names
    the files). When a check fails (a configuration still reads the files), everything is put back, nothing is
    removed, and RV(kept) names the certificates and the server and kind whose check failed; the task itself does
    not fail, so that the playbook can report it. Otherwise the directories go and the manifest forgets them.
    A check that does not finish within O(check_timeout) seconds is stopped and counts as failed.
    A file the manifest lists whose content is no longer what was recorded (the operator changed it) is left where it
    is and listed in RV(left). A certificate recorded before the manifest kept checksums loses its listed files
    whatever they hold; one recorded before the manifest listed files loses the files its servers write for it now.
    When putting back fails for a path, the others are still put back and the task fails naming every path that was
    not restored (C(not_restored)).
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
  files:
    description:
      - With V(record), per certificate name, the absolute paths of the files beyond C(<dest_dir>/<name>/) that the
        host's servers read (as M(autotls.acme.cert_files) returns them in C(form_paths));
        added to those recorded before.
    type: dict
    default: {}
  servers:
    description:
      - With V(retire), the host's servers as the filter C(autotls.acme.servers) gives them; each is checked once the
        files are gone. Left out, the host is served by nginx alone, checked with O(validate).
    type: list
    elements: dict
  conf_dir:
    description: With V(retire), the directory of the server blocks (C(autotls_nginx_conf_dir)); left out, none are removed.
    type: path
  prefix:
    description: With V(retire), the file name prefix of the collection's server blocks.
    type: str
    default: autotls-tls-
  validate:
    description:
      - With V(retire) and no O(servers), nginx's check, as a list of arguments (C([nginx, -t])), run after the server
        blocks and files went.
    type: list
    elements: str
  check_timeout:
    description:
      - With V(retire), seconds each server's check may take (1 to 3600) before it is stopped; a check stopped so
        fails (exit 124) and everything is put back.
    type: int
    default: 60
'''

EXAMPLES = r'''
- name: Take a retired certificate off a host
  autotls.acme.host_manifest:
    step: retire
    dest_dir: /etc/autotls/certs
    names: [old-app]
    conf_dir: /etc/nginx/conf.d
    servers: "{{ autotls_servers | autotls.acme.servers }}"
  register: taken_off
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
kept:
  description:
    - "With V(retire), when a server's check failed with the files gone, one entry per certificate put back (all of
      them): C(name), C(server), C(kind), C(command), C(rc), C(error) (the check's output) and C(named) (the error
      names its files)."
  returned: with retire
  type: list
  elements: dict
  sample: [{name: old, server: haproxy, kind: haproxy, command: haproxy -c -f /etc/haproxy/haproxy.cfg, rc: 1,
            error: "unable to stat SSL certificate from file '/etc/haproxy/certs/old.pem'", named: true}]
kept_message:
  description: With V(retire), when RV(kept) is not empty, what to tell the operator (the certificates, the server and kind, its check's output).
  returned: with retire
  type: str
reload:
  description: With V(retire), the servers to reload (each once), those of the host when something was removed.
  returned: with retire
  type: list
  elements: str
left:
  description:
    - With V(retire), the files the manifest lists that were not removed because their content changed since it was
      recorded (C(name), C(path)); the manifest forgets them with their certificate.
  returned: with retire
  type: list
  elements: dict
  sample: [{name: old, path: /etc/haproxy/certs/old.pem}]
not_ours:
  description: With V(retire), certificates whose directory is on the host but that the manifest does not list; left alone.
  returned: with retire
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import HostCertificates
from ansible_collections.autotls.acme.plugins.module_utils._deploy.manifest import (
    kept_message,
    read_manifest,
    record,
    retire,
    timed_run,
)


def main():
    module = AnsibleModule(argument_spec=dict(
        step=dict(type='str', required=True, choices=['record', 'read', 'retire']),
        dest_dir=dict(type='path', required=True),
        names=dict(type='list', elements='str', default=[]),
        files=dict(type='dict', default={}),
        servers=dict(type='list', elements='dict'),
        conf_dir=dict(type='path'),
        prefix=dict(type='str', default='autotls-tls-'),
        validate=dict(type='list', elements='str'),
        check_timeout=dict(type='int', default=60),
    ), supports_check_mode=True)
    params = module.params
    try:
        with HostCertificates(params['dest_dir'], check_mode=module.check_mode or params['step'] == 'read') as host:
            if params['step'] == 'read':
                module.exit_json(changed=False, names=sorted(read_manifest(host)))
            if params['step'] == 'record':
                added = record(host, params['names'], files=params['files'])
                module.exit_json(changed=bool(added), names=added)
            run = timed_run(params['check_timeout'])
            servers = params['servers']
            if servers is None:
                servers = [dict(name='nginx', kind='nginx', validate=params['validate'] or [])]
            done = retire(host, params['names'], servers, run, params['conf_dir'], params['prefix'])
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except FileNotFoundError:
        # No certificate directory on this host: nothing recorded, nothing to retire.
        module.exit_json(changed=False, names=[], retired=[], paths=[], not_ours=[], kept=[], reload=[], left=[],
                         kept_message='')
    except OSError as exc:
        module.fail_json(msg='Could not %s in %s: %s' % (params['step'], params['dest_dir'], exc))
    module.exit_json(changed=bool(done['retired']), kept_message=kept_message(done['kept']), **done)


if __name__ == '__main__':
    main()
