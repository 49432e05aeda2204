# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Setting a certificate's set aside in the store (revoked, retired), never over an earlier one."""

import os

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._store.aside import set_aside


def _set(certs, name, text):
    os.makedirs(os.path.join(certs, name), exist_ok=True)
    with open(os.path.join(certs, name, 'cert.pem'), 'w') as handle:
        handle.write(text)


def test_moved_whole_and_an_earlier_one_is_kept(tmp_path):
    certs = str(tmp_path / 'store' / 'certs')
    _set(certs, 'app1', 'first')
    assert set_aside(certs, 'app1', 'revoked', 'abc', check_mode=True) == str(tmp_path / 'store/revoked/app1/abc')
    assert os.path.isdir(os.path.join(certs, 'app1'))          # check mode moves nothing
    first = set_aside(certs, 'app1', 'revoked', 'abc')
    assert not os.path.exists(os.path.join(certs, 'app1'))
    assert oct(os.stat(os.path.dirname(first)).st_mode & 0o777) == '0o700'
    _set(certs, 'app1', 'second')
    second = set_aside(certs, 'app1', 'revoked', 'abc')
    assert second == first + '-2'
    assert [open(os.path.join(p, 'cert.pem')).read() for p in (first, second)] == ['first', 'second']


def test_refused(tmp_path):
    certs = str(tmp_path / 'certs')
    with pytest.raises(AutoTLSError, match='is not a certificate directory of the store'):
        set_aside(certs, 'app1', 'retired', '2026-12-01')
    _set(certs, 'app1', 'x')
    with pytest.raises(ConfigurationError, match='kind must be one of revoked, retired'):
        set_aside(certs, 'app1', 'deleted', 'x')
    with pytest.raises(ConfigurationError, match='label'):
        set_aside(certs, 'app1', 'retired', '../x')
