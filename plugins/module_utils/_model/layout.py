# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The files of one certificate, as certbot and most servers expect them.

Every certificate is a directory ``<dir>/<name>/`` holding these four files, in the store
on the controller and on every host. This is the one place their names are written;
modules, filters (``autotls.acme.certificate_file``, ``autotls.acme.certificate_files``),
roles and playbooks take them from here.

Standard library only: also used on hosts through the cert_files module.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

CERT_FILE = 'cert.pem'
CHAIN_FILE = 'chain.pem'
FULLCHAIN_FILE = 'fullchain.pem'
KEY_FILE = 'privkey.pem'
# In the store only (never deployed): which issuer (of autotls_issuers) issued the set, as
# JSON {"issuer": name, "directory": URL}. Written with the four files, in the same step;
# revocation and renewal information (ARI) go to that issuer.
ISSUER_FILE = 'issuer.json'

# kind -> file name, in the order the files are written and listed.
FILES_BY_KIND = {
    'cert': CERT_FILE,
    'chain': CHAIN_FILE,
    'fullchain': FULLCHAIN_FILE,
    'key': KEY_FILE,
}
CERTIFICATE_FILES = tuple(FILES_BY_KIND.values())


def file_name(kind):
    """'cert', 'chain', 'fullchain' or 'key' -> the file name."""
    try:
        return FILES_BY_KIND[kind]
    except (KeyError, TypeError):
        raise ConfigurationError('%r is not a kind of certificate file: use one of %s.'
                                 % (kind, ', '.join(FILES_BY_KIND))) from None


def file_path(directory, kind):
    """The path of one file of the certificate in directory ('' gives the bare file name)."""
    name = file_name(kind)
    if not directory:
        return name
    return directory.rstrip('/') + '/' + name


def file_paths(directory='', kinds=None):
    """The paths of the files (all four by default, in order) of the certificate in directory."""
    return [file_path(directory, kind) for kind in (kinds or FILES_BY_KIND)]


def is_key_file(filename):
    return filename == KEY_FILE
