# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which certificate files a host needs, from one look at the store and one at the host.

The role cert_deploy reads the store's checksums on the controller (``store_checksums``,
no module run) and the host's in one module run (``cert_files`` ``step=inspect``), and
copies only what this plan lists. A quiet night then costs one module run per host,
whatever the number of certificates.
"""

from __future__ import annotations

import hashlib
import os

from ansible_collections.autotls.acme.plugins.module_utils._model.layout import CERTIFICATE_FILES, KEY_FILE
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import normalize_mode


def store_checksums(source, names, filenames=CERTIFICATE_FILES):
    """[{'path', 'checksum'}] of <source>/<name>/<file> that exist (links followed), as find lists them."""
    found = []
    for name in names:
        for filename in filenames:
            path = os.path.join(source, name, filename)
            try:
                with open(path, 'rb') as handle:
                    digest = hashlib.sha1(handle.read()).hexdigest()  # nosec: a checksum, as find's
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue
            found.append({'path': path, 'checksum': digest})
    return found


def _same_owner(wanted, found, name_key, id_key):
    if wanted is None:
        return True
    if isinstance(wanted, int) or str(wanted).isdigit():
        return int(wanted) == found.get(id_key)
    return str(wanted) == found.get(name_key)


def _relative(path):
    """<anything>/<name>/<file> -> '<name>/<file>'."""
    parent, filename = os.path.split(path)
    return '%s/%s' % (os.path.basename(parent), filename)


def deploy_plan(store_files, host_files, certificates, defaults):
    """The files to copy, in declaration order, each a dict as the cert_files module takes it:

    path ('<name>/<file>'), owner, group, mode ('0644'), reason ('new', 'content', 'attributes').

    store_files and host_files are the ``files`` lists of ``ansible.builtin.find`` with
    checksums; certificates the declared entries (name and optional owner, group, mode,
    key_mode); defaults has owner, group, mode and key_mode.
    """
    in_store = {_relative(f['path']): f for f in store_files}
    on_host = {_relative(f['path']): f for f in host_files}
    plan = []
    for certificate in certificates:
        name = certificate['name']
        for filename in CERTIFICATE_FILES:
            path = '%s/%s' % (name, filename)
            source = in_store.get(path)
            if source is None:
                continue
            is_key = filename == KEY_FILE
            wanted = {
                'owner': certificate.get('owner', defaults['owner']),
                'group': certificate.get('group', defaults['group']),
                'mode': _mode_of(certificate, 'key_mode' if is_key else 'mode', defaults),
            }
            found = on_host.get(path)
            reason = _reason(source, found, wanted)
            if reason:
                plan.append(dict(wanted, path=path, reason=reason))
    return plan


def _mode_of(certificate, option, defaults):
    """The certificate's own mode, or the role's; an error names where to change it."""
    where = ("%s of certificate '%s'" % (option, certificate['name']) if option in certificate
             else 'autotls_%s' % ('key_mode' if option == 'key_mode' else 'cert_mode'))
    return normalize_mode(certificate.get(option, defaults[option]), where, key=option == 'key_mode')


def file_reason(source, found, wanted):
    """Why a file is to be written: 'new', 'content', 'attributes', or None when it is in place."""
    return _reason(source, found, wanted)


def _reason(source, found, wanted):
    if found is None:
        return 'new'
    if source.get('checksum') != found.get('checksum'):
        return 'content'
    if (wanted['mode'] != found.get('mode')
            or not _same_owner(wanted['owner'], found, 'pw_name', 'uid')
            or not _same_owner(wanted['group'], found, 'gr_name', 'gid')):
        return 'attributes'
    return None
