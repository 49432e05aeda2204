# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action for autotls.acme.cert_files: the planned files go to the host in one transfer.

With step=install, the files <src_dir>/<name>/<file> of the plan are packed into one
tar archive in memory and put into the task's remote temporary directory (removed
afterwards), then the module installs them from there. One transfer and one module run
per host, however many certificates changed; contents never pass through a variable.
"""

from __future__ import annotations

import io
import os
import tarfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        module_args = dict(self._task.args)
        try:
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

    def _stage(self, module_args):
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
                info = tarfile.TarInfo(path)
                info.size = len(data)
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
        remote = self._connection._shell.join_path(self._connection._shell.tmpdir, 'certificates.tar')
        self._transfer_data(remote, archive.getvalue())
        self._fixup_perms2((self._connection._shell.tmpdir, remote), execute=False)
        return remote
