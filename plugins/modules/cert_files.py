#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: autotls.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: cert_files
short_description: Install certificate files on a host in one go, keeping the previous ones for a rollback
version_added: 0.1.0
description:
  - Writes the planned files of one or many certificates (C(<dest_dir>/<name>/<file>)) in one module run,
    with the content from the controller's store sent over in one transfer, instead of one
    C(ansible.builtin.copy) per file. Used by the role C(autotls.acme.cert_deploy) with the plan of the filter
    C(autotls.acme.cert_deploy_plan).
  - Three steps make a safe replacement. V(keep_previous) copies every existing file of the plan to
    C(<dest_dir>/<name>/<previous_dir>/<file>) (root, C(0600), directory C(0700)). V(install) writes the new
    files. V(put_back) undoes an install; the kept files go back in place and the files that had no previous
    version are removed.
  - Every write is atomic (a temporary file in the same directory, renamed over the target), with owner, group
    and mode set before the first byte, so a private key is never readable by anyone else, even for a moment.
  - File contents are never logged, returned or shown as a diff.
author:
  - autotls.acme maintainers (@autotls)
attributes:
  action:
    support: full
    description: The action plugin reads the files from O(src_dir) on the controller and transfers them.
  check_mode:
    support: full
    description: Reports which files would change; writes nothing.
  diff_mode:
    support: none
    description: Keys and certificates are never shown as diffs.
  idempotent:
    support: full
    description: Files already in place with the right owner, group and mode are not written again.
options:
  step:
    description:
      - V(keep_previous), V(install) or V(put_back), see the description.
    type: str
    choices: [keep_previous, install, put_back]
    required: true
  dest_dir:
    description:
      - The host's certificate directory; files go to C(<dest_dir>/<name>/<file>).
    type: path
    required: true
  files:
    description:
      - The files, as the filter C(autotls.acme.cert_deploy_plan) lists them.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - C(<name>/<file>), the file one of C(cert.pem), C(chain.pem), C(fullchain.pem), C(privkey.pem).
        type: str
        required: true
      owner:
        description: Owner of the file, a name or a uid.
        type: str
      group:
        description: Group of the file, a name or a gid.
        type: str
      mode:
        description: Mode of the file, as an octal string such as C('0640').
        type: raw
        required: true
      reason:
        description: Why the plan lists the file (C(new), C(content), C(attributes)); shown in the output only.
        type: str
  src_dir:
    description:
      - With O(step=install), the directory on the controller that holds C(<name>/<file>) (the store's C(certs/)).
    type: path
  previous_dir:
    description:
      - Name of the directory inside C(<dest_dir>/<name>/) that holds the previous files.
    type: str
    default: .previous
  kept:
    description:
      - With O(step=put_back), the paths that O(step=keep_previous) returned as kept. Files of O(files) not
        in it had no previous version and are removed.
    type: list
    elements: str
    default: []
  staged:
    description:
      - Set by the action plugin (the transferred files on the host). Do not set it.
    type: path
notes:
  - Owner and group must exist on the host; an unknown one fails the task before anything is written.
'''

EXAMPLES = r'''
- name: Keep the files about to be replaced
  autotls.acme.cert_files:
    step: keep_previous
    dest_dir: /etc/autotls/certs
    files: "{{ plan }}"
  register: kept

- name: Install the new files
  autotls.acme.cert_files:
    step: install
    dest_dir: /etc/autotls/certs
    src_dir: ~/.local/share/autotls/certs
    files:
      - {path: app1/fullchain.pem, owner: root, group: root, mode: "0644"}
      - {path: app1/privkey.pem, owner: root, group: www-data, mode: "0640"}

- name: Undo it
  autotls.acme.cert_files:
    step: put_back
    dest_dir: /etc/autotls/certs
    files: "{{ plan }}"
    kept: "{{ kept.kept }}"
'''

RETURN = r'''
changed_paths:
  description: The C(<name>/<file>) paths written or removed (or that would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [app1/cert.pem, app1/fullchain.pem, app1/privkey.pem]
kept:
  description: With O(step=keep_previous), the paths whose previous version was kept.
  returned: success
  type: list
  elements: str
  sample: [app1/cert.pem]
'''

import tarfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import CertFile, install, keep_previous, put_back
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError


# What a failure of each step means for the host, and what to look at.
FAILURE_MESSAGES = {
    'keep_previous': 'Could not keep a copy of the current certificate files under %s (nothing was replaced; '
                     'check free space and permissions there): %s',
    'install': 'Could not install the new certificate files under %s (check free space and permissions there): %s',
    'put_back': 'Could not put the previous certificate files back under %s; look at the host by hand '
                '(the copies are in <name>/.previous/): %s',
}


def argument_spec():
    return dict(
        step=dict(type='str', required=True, choices=['keep_previous', 'install', 'put_back']),
        dest_dir=dict(type='path', required=True),
        files=dict(type='list', elements='dict', required=True, options=dict(
            path=dict(type='str', required=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='raw', required=True),
            reason=dict(type='str'),
        )),
        src_dir=dict(type='path'),
        previous_dir=dict(type='str', default='.previous'),
        kept=dict(type='list', elements='str', default=[]),
        staged=dict(type='path'),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[('step', 'install', ['staged'])])
    params = module.params
    result = dict(changed=False, changed_paths=[], kept=[])
    try:
        files = [CertFile(params['dest_dir'], entry, params['previous_dir']) for entry in params['files']]
        if params['step'] == 'keep_previous':
            result['kept'] = keep_previous(files, check_mode=module.check_mode)
            result['changed'] = bool(result['kept'])
        elif params['step'] == 'install':
            with tarfile.open(params['staged']) as staged:
                def read_new(path):
                    member = staged.extractfile(path)
                    if member is None:
                        raise AutoTLSError('%s is missing from the transferred files.' % path)
                    return member.read()
                result['changed_paths'] = install(files, read_new, check_mode=module.check_mode)
        else:
            result['changed_paths'] = put_back(files, params['kept'], check_mode=module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except (OSError, tarfile.TarError, KeyError) as exc:
        module.fail_json(msg=FAILURE_MESSAGES[params['step']] % (params['dest_dir'], exc))
    result['changed'] = result['changed'] or bool(result['changed_paths'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
