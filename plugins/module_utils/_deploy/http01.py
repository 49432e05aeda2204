# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP-01 tokens on a host: all of a host's tokens written, or removed, in one module run.

Standard library only: runs on hosts through the http01_tokens module. A key authorization
is public by design (the CA fetches it over plain HTTP), so it may be logged and returned.
"""

from __future__ import annotations

import os
import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write

CHALLENGE_DIR = '.well-known/acme-challenge'
# RFC 8555 8.3: a token is base64url without padding; a key authorization is
# <token>.<base64url of the account key's thumbprint>.
_B64URL = re.compile(r'^[A-Za-z0-9_-]+$')


def check_tokens(tokens, need_content=True):
    """Return [(relative path, key authorization)] for the tokens, or raise ConfigurationError naming the bad one."""
    checked = []
    for index, entry in enumerate(tokens or []):
        token = entry.get('token') if isinstance(entry, dict) else None
        if not isinstance(token, str) or not _B64URL.match(token):
            raise ConfigurationError('tokens[%d].token must be an ACME token (letters, digits, - and _), got %r. '
                                     'Pass the http01_tokens of autotls.acme.certificate unchanged.' % (index, token))
        path = '%s/%s' % (CHALLENGE_DIR, token)
        if entry.get('path') not in (None, path):
            raise ConfigurationError('tokens[%d].path must be %s for token %s, got %r.' % (index, path, token, entry['path']))
        content = entry.get('key_authorization')
        if need_content:
            parts = content.split('.') if isinstance(content, str) else []
            if len(parts) != 2 or parts[0] != token or not _B64URL.match(parts[1]):
                raise ConfigurationError('tokens[%d].key_authorization must be "%s.<account key thumbprint>", got %r.'
                                         % (index, token, content))
        checked.append((path, content))
    return checked


def place(webroot, tokens, check_mode=False):
    """Write each token's key authorization under webroot (directories 0755, files 0644); the paths that changed."""
    checked = check_tokens(tokens)
    changed = []
    directory = os.path.join(webroot, CHALLENGE_DIR)
    if checked and not os.path.isdir(directory):
        if check_mode:
            return [path for path, _content in checked]
        os.makedirs(directory, mode=0o755, exist_ok=True)
        for part in (webroot, os.path.join(webroot, '.well-known'), directory):
            os.chmod(part, 0o755)
    for path, content in checked:
        full = os.path.join(webroot, path)
        if check_mode:
            try:
                with open(full, 'rb') as handle:
                    same = handle.read() == content.encode('ascii')
            except OSError:
                same = False
            if not same:
                changed.append(path)
        elif atomic_write(full, content, mode=0o644):
            changed.append(path)
    return changed


def remove(webroot, tokens, check_mode=False):
    """Remove the tokens' files under webroot; the paths that were there."""
    removed = []
    for path, _content in check_tokens(tokens, need_content=False):
        full = os.path.join(webroot, path)
        if not os.path.lexists(full):
            continue
        if not check_mode:
            try:
                os.unlink(full)
            except FileNotFoundError:
                continue
        removed.append(path)
    return removed
