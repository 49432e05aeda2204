# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action for autotls.acme.cert_files: the planned files go to the host in one transfer.

With step=install, the files <src_dir>/<name>/<file> of the plan are packed into one
tar archive in memory and put into the task's remote temporary directory (removed
afterwards), then the module installs them from there. One transfer and one module run
per host, however many certificates changed; contents never pass through a variable.

With step=deploy, the action plans too: it reads the store on the controller, works out
the files each of the host's servers reads (``_deploy.kinds``: the standard set, and
forms such as HAProxy's combined PEM), looks at the host in one module run, and only
when something differs sends what differs and installs it (one more module run), where
every server whose files changed is checked. A quiet night costs one module run per
host, whatever the number of certificates and servers.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import KINDS, SHARED
from ansible_collections.autotls.acme.plugins.module_utils._deploy.plan import (
    deploy_plan, file_reason, store_checksums,
)
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import file_name
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import normalize_mode


# What the module needs of each server on the host: its check, and Traefik's served-serial check.
SERVER_KEYS = ('name', 'kind', 'validate', 'dynamic_dir', 'address', 'port', 'wait')


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        module_args = dict(self._task.args)
        try:
            if module_args.get('step') == 'deploy':
                result.update(self._deploy(module_args, task_vars))
                return result
            if module_args.get('step') == 'install':
                module_args['staged'] = self._stage(module_args)
                module_args.pop('src_dir', None)
            result.update(self._execute_module(module_name='autotls.acme.cert_files', module_args=module_args,
                                               task_vars=task_vars))
        except AnsibleActionFail as exc:
            result.update(exc.result)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _run(self, module_args, task_vars):
        found = self._execute_module(module_name='autotls.acme.cert_files', module_args=module_args,
                                     task_vars=task_vars)
        if found.get('failed'):
            raise AnsibleActionFail(found.get('msg', 'cert_files failed'), result=found)
        return found

    def _deploy(self, args, task_vars):
        """Plan on the controller, look at the host once, install what differs, check each server."""
        src_dir = args.get('src_dir')
        if not src_dir:
            raise AnsibleActionFail('src_dir is required with step=deploy: the directory on the controller '
                                    'that holds <name>/<file> (the store\'s certs/).')
        src_dir = os.path.expanduser(src_dir)
        certificates = list(args.get('certificates') or [])
        defaults = dict(args.get('defaults') or {})
        servers = list(args.get('servers') or [])
        names = [cert['name'] for cert in certificates]
        common = {key: args[key] for key in ('dest_dir', 'previous_dir') if key in args}
        try:
            forms = plan_forms(src_dir, certificates, defaults, servers, args.get('dest_dir') or '')
            found = self._run(dict(common, step='inspect', names=names, paths=[f['path'] for f in forms]),
                              task_vars)
            files = deploy_plan(store_checksums(src_dir, names), found.get('files') or [], certificates, defaults)
            on_host = {f['path']: f for f in found.get('forms') or []}
            changed_forms = []
            for form in forms:
                reason = file_reason(form, on_host.get(form['path']), form)
                if reason:
                    changed_forms.append(dict(form, reason=reason))
        except AutoTLSError as exc:
            raise AnsibleActionFail(exc.msg) from None
        # What the host's servers read of each certificate beyond its set: the host's manifest
        # records it, so that retirement removes exactly these files.
        form_paths = {name: [form['path'] for form in forms if form['name'] == name] for name in names}
        quiet = dict(changed=False, changed_paths=[], deployed=[], rolled_back=[], kept=[],
                     servers={server['name']: [] for server in servers}, form_paths=form_paths)
        if not files and not changed_forms:
            return quiet
        staged = self._stage(dict(src_dir=src_dir, files=files), extra=changed_forms)
        install = dict(common, step='install', staged=staged, files=files,
                       forms=[{key: form[key] for key in ('path', 'name', 'owner', 'group', 'mode', 'key', 'member',
                                                          'servers', 'reason')} for form in changed_forms],
                       servers=[{key: server[key] for key in SERVER_KEYS if key in server} for server in servers])
        return dict(self._run(install, task_vars), form_paths=form_paths)

    def _stage(self, module_args, extra=()):
        src_dir = module_args.get('src_dir')
        if not src_dir:
            raise AnsibleActionFail('src_dir is required with step=install: the directory on the controller '
                                    'that holds <name>/<file> (the store\'s certs/).')
        src_dir = os.path.expanduser(src_dir)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode='w') as tar:
            for entry in module_args.get('files') or []:
                path = entry.get('path') if isinstance(entry, dict) else None
                if not path or path.startswith('/') or '..' in path.split('/'):
                    raise AnsibleActionFail('Each file needs a path <name>/<file> (got %r).' % (path,))
                source = os.path.join(src_dir, path)
                try:
                    with open(source, 'rb') as handle:
                        data = handle.read()
                except OSError as exc:
                    raise AnsibleActionFail('Cannot read %s on the controller: %s' % (source, exc.strerror)) from None
                _add(tar, path, data)
            for form in extra:
                _add(tar, form['member'], form['data'])
        remote = self._connection._shell.join_path(self._connection._shell.tmpdir, 'certificates.tar')
        self._transfer_data(remote, archive.getvalue())
        self._fixup_perms2((self._connection._shell.tmpdir, remote), execute=False)
        return remote


def _add(tar, member, data):
    info = tarfile.TarInfo(member)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def plan_forms(src_dir, certificates, defaults, servers, cert_dir):
    """The form files and configuration files of every server: [{path, name, data, checksum, ...}].

    Two servers that want the same path must want the same content there (one file, both
    servers named); anything else is refused before the host is looked at.
    """
    by_path = {}
    for server in servers:
        kind = KINDS.get(server.get('kind'))
        if kind is None:
            raise AutoTLSError('Server %r has an unknown kind %r: pass the servers through the filter '
                               'autotls.acme.servers.' % (server.get('name'), server.get('kind')))
        for cert in certificates:
            for form in kind.forms(server, cert):
                option = 'key_mode' if form['key'] else 'mode'
                mode = form.get('mode') or normalize_mode(
                    cert.get(option, defaults.get(option)),
                    ("%s of certificate '%s'" % (option, cert['name'])) if option in cert
                    else 'autotls_%s' % ('key_mode' if form['key'] else 'cert_mode'), key=form['key'])
                data = b''.join(_read(src_dir, cert['name'], part) for part in form['parts'])
                entry = dict(path=form['path'], name=cert['name'], key=form['key'], mode=mode, data=data,
                             owner=cert.get('owner', defaults.get('owner')),
                             group=cert.get('group', defaults.get('group')),
                             checksum=hashlib.sha1(data).hexdigest(),  # nosec: a checksum, as find's
                             servers=[server['name']], member='forms/%d' % len(by_path))
                same = by_path.get(form['path'])
                if same is None:
                    by_path[form['path']] = entry
                elif same['checksum'] != entry['checksum'] or same['name'] != entry['name']:
                    raise AutoTLSError('Servers %s and %s both want %s, with different content: give one of them '
                                       'another directory.' % (same['servers'][0], server['name'], form['path']))
                else:
                    same['servers'].append(server['name'])
        for config in kind.configs(server, certificates, cert_dir):
            data = config['content'].encode('utf-8')
            if config['path'] in by_path:
                raise AutoTLSError('Server %s wants %s, which %s writes too: give one of them another directory.'
                                   % (server['name'], config['path'], by_path[config['path']]['servers'][0]))
            by_path[config['path']] = dict(
                path=config['path'], name=config.get('name') or SHARED, key=False, mode='0644', data=data,
                owner='root', group='root', checksum=hashlib.sha1(data).hexdigest(),  # nosec: a checksum
                servers=[server['name']], member='forms/%d' % len(by_path))
    return list(by_path.values())


def _read(src_dir, name, part):
    path = os.path.join(src_dir, name, file_name(part))
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        raise AutoTLSError('Cannot read %s on the controller: %s' % (path, exc.strerror)) from None
    return data if data.endswith(b'\n') or not data else data + b'\n'
