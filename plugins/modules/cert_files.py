#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cert_files
short_description: Install certificate files on a host as whole sets, check them, keep the previous ones for a rollback
version_added: 0.1.0
description:
  - Writes the planned files of one or many certificates (C(<dest_dir>/<name>/<file>)) in one module run,
    with the content from the controller's store sent over in one transfer, instead of one
    C(ansible.builtin.copy) per file. Used by the role C(autotls.acme.cert_deploy) with the plan of the filter
    C(autotls.acme.cert_deploy_plan).
  - "A certificate's files are one set. V(install) writes the certificate's new set (its planned files and its
    current other files) into a new directory beside C(<name>/), with owner, group and mode set before the first
    byte and every file flushed to disk, then swaps it in with one rename (Linux C(renameat2(RENAME_EXCHANGE))).
    Servers reading C(<name>/fullchain.pem) and C(<name>/privkey.pem) see the old set or the new one, never a new
    key beside an old certificate, even after a crash or on a full disk. The replaced set is kept in
    C(<dest_dir>/<name>/<previous_dir>/) (root, C(0600), directory C(0700))."
  - With O(validate) (or O(servers)), V(install) runs the check right after the swap. When it fails, the certificates whose
    directory the check's error names are put back and the check runs again, until it passes; a failure that
    names none of them puts all of them back. The certificates put back are listed in RV(rolled_back); the task
    itself does not fail for them, so that the others can be reloaded (the role C(autotls.acme.cert_deploy)
    fails the host afterwards, naming them).
  - "V(inspect) changes nothing: it lists what the host holds of the certificates in O(names) (path, SHA-1
    checksum, mode, owner, group; never the content), as M(ansible.builtin.find) would, so that the filter
    C(autotls.acme.cert_deploy_plan) can compare it with the store. A missing O(dest_dir) means no files; it is
    not created."
  - "V(deploy) (through the action plugin) does all of it in one task: it reads the store on the controller, works
    out the files each server in O(servers) reads (the set C(<dest_dir>/<name>/), and each kind's own forms such as
    HAProxy's fullchain + key in one PEM), runs V(inspect) once, and only when something differs sends it and runs
    V(install), which writes each form file by rename and checks every server whose files changed with its
    C(validate) command. The certificates a failing check names are put back, for every server, and the checks run
    again until they pass. RV(servers) tells, per server, the certificates that changed and passed (to reload)."
  - V(put_back) undoes the last install of the listed certificates, each set back in one step; a certificate
    that had no previous version is removed.
  - "Hosts are hostile ground: nothing is read or written through a symbolic link, and O(dest_dir), its parent
    directories, C(<name>/) and C(<previous_dir>/) must belong to root (or to the user the module runs as, when
    not root) and be writable by nobody else. Anything else is refused before a byte is written, with the path
    and what to change."
  - File contents are never logged, returned or shown as a diff.
author:
  - autotls.acme maintainers (@autotls)
attributes:
  action:
    support: full
    description: The action plugin reads the files from O(src_dir) on the controller and transfers them.
  check_mode:
    support: full
    description: Reports which files would change; writes nothing and runs no check.
  diff_mode:
    support: none
    description: Keys and certificates are never shown as diffs.
  idempotent:
    support: full
    description: Files already in place with the right owner, group and mode are not written again.
options:
  step:
    description:
      - V(deploy), V(install), V(put_back) or V(inspect), see the description.
    type: str
    choices: [deploy, install, put_back, inspect]
    required: true
  dest_dir:
    description:
      - The host's certificate directory; files go to C(<dest_dir>/<name>/<file>). Created (C(0755)) when missing.
    type: path
    required: true
  files:
    description:
      - The files, as the filter C(autotls.acme.cert_deploy_plan) lists them. Required with V(install) and
        V(put_back).
    type: list
    elements: dict
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
  validate:
    description:
      - With O(step=install), the check run on the host right after the new sets are in place, such as
        C(nginx -t). A string (split like a shell would, no shell features) or a list (the argv).
      - Unset or empty runs no check.
    type: raw
  previous_dir:
    description:
      - Name of the directory inside C(<dest_dir>/<name>/) that holds the previous files. A plain name, no C(/).
    type: str
    default: .previous
  kept:
    description:
      - With O(step=put_back), the paths that O(step=install) returned as RV(kept). Certificates none of whose files
        are in it had no previous version and are removed.
    type: list
    elements: str
    default: []
  names:
    description:
      - With O(step=inspect), the certificates to look at.
    type: list
    elements: str
    default: []
  staged:
    description:
      - Set by the action plugin (the transferred files on the host). Do not set it.
    type: path
  certificates:
    description:
      - "With O(step=deploy), the certificates to deploy (validated entries, as the filter
        C(autotls.acme.host_certificates) gives them): C(name) and optional C(owner), C(group), C(mode), C(key_mode)."
    type: list
    elements: dict
  defaults:
    description:
      - With O(step=deploy), C(owner), C(group), C(mode) and C(key_mode) of the files where a certificate sets none.
    type: dict
  servers:
    description:
      - With O(step=deploy), the host's servers as the filter C(autotls.acme.servers) gives them. With O(step=install)
        (set by the action plugin), each server's C(name), C(kind) and C(validate) argv; a server is checked when
        files it reads changed. Unset with O(step=install) checks with O(validate) alone.
    type: list
    elements: dict
  forms:
    description:
      - With O(step=install), set by the action plugin, the form files to write (absolute C(path), certificate
        C(name), C(owner), C(group), C(mode), C(key), C(member) in the transfer, C(servers) that read it).
    type: list
    elements: dict
  paths:
    description:
      - With O(step=inspect), absolute paths of form files to look at too (returned in RV(forms)).
    type: list
    elements: str
    default: []
notes:
  - Owner and group must exist on the host; an unknown one fails the task before anything is written.
  - Where the file system cannot exchange two directories in one step (not Linux, NFS), the swap is two renames;
    a crash between them leaves C(<name>/) missing for a moment, and the next run puts the old set back.
'''

EXAMPLES = r'''
- name: Install the new files, check nginx, put back what it rejects
  autotls.acme.cert_files:
    step: install
    dest_dir: /etc/autotls/certs
    src_dir: ~/.local/share/autotls/certs
    validate: nginx -t
    files:
      - {path: app1/fullchain.pem, owner: root, group: root, mode: "0644"}
      - {path: app1/privkey.pem, owner: root, group: www-data, mode: "0640"}
  register: installed

- name: Undo it
  autotls.acme.cert_files:
    step: put_back
    dest_dir: /etc/autotls/certs
    files:
      - {path: app1/fullchain.pem, owner: root, group: root, mode: "0644"}
      - {path: app1/privkey.pem, owner: root, group: www-data, mode: "0640"}
    kept: "{{ installed.kept }}"
'''

RETURN = r'''
changed_paths:
  description: The C(<name>/<file>) paths written or removed, and left in place (or that would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [app1/cert.pem, app1/fullchain.pem, app1/privkey.pem]
deployed:
  description: With O(step=install), the certificates whose files changed and stay in place (passed the check).
  returned: success
  type: list
  elements: str
  sample: [app1]
rolled_back:
  description:
    - With O(step=install), the certificates put back because the check failed, each with C(name), C(paths)
      (its changed files), C(rc), C(error) (the check's output) and, with O(servers), C(server) and C(kind) (whose check refused it).
  returned: success
  type: list
  elements: dict
  sample: [{name: app2, paths: [app2/privkey.pem], rc: 1, error: "nginx: [emerg] ... key values mismatch"}]
servers:
  description:
    - With O(step=deploy) or O(step=install), per server name, the certificates whose files changed for it and passed
      its check (the servers with any are the ones to reload).
  returned: success
  type: dict
  sample: {nginx: [app1], haproxy: [app1]}
served:
  description:
    - With O(step=install) (and O(step=deploy)), per server of kind C(traefik), the serial (hex) Traefik was seen
      serving for each certificate that changed, once it served the new one.
  returned: success
  type: dict
  sample: {traefik: {app1: 5f1a2b}}
form_paths:
  description:
    - With O(step=deploy), per certificate of O(certificates), the files beyond C(<dest_dir>/<name>/) that the servers
      read (forms and configuration files), changed or not; the role C(autotls.acme.cert_deploy) records them in the
      host's manifest (M(autotls.acme.host_manifest)) so that retirement removes exactly these.
  returned: with deploy
  type: dict
  sample: {app1: [/etc/haproxy/certs/app1.pem, /etc/apache2/sites-enabled/autotls-app1.conf]}
forms:
  description: With O(step=inspect), the form files of O(paths) that exist, as RV(files) lists them.
  returned: when step is inspect
  type: list
  elements: dict
kept:
  description: With O(step=install), the planned paths that had a previous version (kept in C(<previous_dir>/)).
  returned: success
  type: list
  elements: str
  sample: [app1/cert.pem]
files:
  description:
    - With O(step=inspect), the files the host holds of the certificates in O(names), as M(ansible.builtin.find)
      lists them (C(path), C(checksum) SHA-1, C(mode), C(uid), C(gid), C(pw_name), C(gr_name)); never the content.
  returned: when step is inspect
  type: list
  elements: dict
'''

import tarfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import (
    CertFile, FormFile, FormFiles, HostCertificates, Install, inspect, inspect_forms, put_back, validate_servers,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import SHARED
from ansible_collections.autotls.acme.plugins.module_utils._deploy import traefik


# What a failure of each step means for the host, and what to look at.
FAILURE_MESSAGES = {
    'install': 'Could not install the new certificate files under %s; the previous ones are in place '
               '(check free space and permissions there): %s',
    'inspect': 'Could not read the certificate files under %s: %s',
    'deploy': 'Could not deploy the certificate files under %s: %s',
    'put_back': 'Could not put the previous certificate files back under %s; look at the host by hand '
                '(the copies are in <name>/.previous/): %s',
}


def argument_spec():
    return dict(
        step=dict(type='str', required=True, choices=['deploy', 'install', 'put_back', 'inspect']),
        dest_dir=dict(type='path', required=True),
        names=dict(type='list', elements='str', default=[]),
        files=dict(type='list', elements='dict', options=dict(
            path=dict(type='str', required=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='raw', required=True),
            reason=dict(type='str'),
        )),
        src_dir=dict(type='path'),
        validate=dict(type='raw'),
        previous_dir=dict(type='str', default='.previous'),
        kept=dict(type='list', elements='str', default=[]),
        staged=dict(type='path'),
        certificates=dict(type='list', elements='dict'),
        defaults=dict(type='dict'),
        servers=dict(type='list', elements='dict'),
        forms=dict(type='list', elements='dict'),
        paths=dict(type='list', elements='str', default=[]),
    )


def validate_command(value):
    """The check as run_command takes it, or None for no check."""
    if value is None or value == '' or value == []:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(arg, (str, int, float)) for arg in value):
        return [str(arg) for arg in value]
    raise AutoTLSError('validate must be a command string or a list of arguments (got %r).' % (value,))


def install(module, host, files):
    params = module.params
    with tarfile.open(params['staged']) as staged:
        def read_new(path):
            member = staged.extractfile(path)
            if member is None:
                raise AutoTLSError('%s is missing from the transferred files.' % path)
            return member.read()
        form_entries = params['forms'] or []
        # Servers without a check command of their own (Traefik) load the new files before the swap.
        refused = [] if host.check_mode else traefik.precheck_install(params['servers'], host, files, form_entries,
                                                                      read_new)
        if refused:
            skipped = {entry['name'] for entry in refused}
            files = [item for item in files if item.name not in skipped]
            form_entries = [entry for entry in form_entries if entry.get('name') not in skipped]
        job = Install(host, files, read_new).run()
        try:
            forms = FormFiles([FormFile(entry) for entry in form_entries], read_new,
                              check_mode=host.check_mode).run()
        except BaseException:
            job.undo(list(job.replacements))
            raise
    try:
        servers = params['servers']
        if servers is None:
            command = validate_command(params['validate'])
            servers = [dict(name='check', kind='check', validate=command)] if command else []
        rolled_back, changed, served = [], {server['name']: [] for server in servers}, {}
        if not host.check_mode:
            def run(command):
                try:
                    return module.run_command(command, handle_exceptions=False)
                except OSError as exc:
                    return 127, '', 'Cannot run the check %s: %s' % (command, exc)
            rolled_back, changed = validate_servers(job, forms, servers, run)
            # Servers that apply new files by themselves (Traefik) must serve the new serial in time.
            served, unconfirmed = traefik.confirm_install(servers, job, forms, changed)
            rolled_back += unconfirmed
        else:
            changed = {server['name']: list(job.changed) + [n for n in forms.names(server['name'])
                                                            if n not in job.changed] for server in servers}
        job.commit()
    except BaseException:
        job.undo(list(job.replacements))
        forms.undo()
        raise
    rolled_back = refused + rolled_back
    deployed = list(job.changed) + [name for name in forms.names() if name not in job.changed and name != SHARED]
    form_paths = [item.path for item, _previous in forms.written]
    if params['servers'] is None:
        for item in rolled_back:
            item.pop('server', None)
            item.pop('kind', None)
    return dict(changed_paths=job.changed_paths + form_paths, deployed=deployed, rolled_back=rolled_back,
                kept=job.kept, servers=changed, served=served)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[('step', 'install', ['staged', 'files']), ('step', 'put_back', ['files'])])
    params = module.params
    result = dict(changed=False, changed_paths=[], deployed=[], rolled_back=[], kept=[])
    try:
        files = [CertFile(entry) for entry in params['files'] or []]
        with HostCertificates(params['dest_dir'], params['previous_dir'],
                              check_mode=module.check_mode or params['step'] == 'inspect') as host:
            if params['step'] == 'inspect':
                module.exit_json(changed=False, files=inspect(host, params['names']),
                                 forms=inspect_forms(params['paths']))
            if params['step'] == 'deploy':
                raise AutoTLSError('step=deploy runs through the action plugin autotls.acme.cert_files, which '
                                   'plans and calls the module with inspect and install.')
            if params['step'] == 'install':
                result.update(install(module, host, files))
            else:
                result['changed_paths'] = put_back(host, files, params['kept'])
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except (OSError, tarfile.TarError, KeyError) as exc:
        module.fail_json(msg=FAILURE_MESSAGES[params['step']] % (params['dest_dir'], exc))
    result['changed'] = bool(result['changed_paths'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
