# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model import layout
from ansible_collections.autotls.acme.plugins.module_utils._x509 import certificates


def test_the_four_files_in_order():
    assert layout.CERTIFICATE_FILES == ('cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem')
    assert layout.file_paths() == list(layout.CERTIFICATE_FILES)
    assert layout.file_paths('/etc/autotls/certs/app1/', ['fullchain', 'key']) == [
        '/etc/autotls/certs/app1/fullchain.pem', '/etc/autotls/certs/app1/privkey.pem']
    assert layout.file_path('', 'key') == 'privkey.pem'


def test_the_writer_uses_the_same_names():
    assert (certificates.CERT_FILE, certificates.CHAIN_FILE, certificates.FULLCHAIN_FILE,
            certificates.KEY_FILE) == layout.CERTIFICATE_FILES


def test_an_unknown_kind_lists_the_kinds():
    with pytest.raises(ConfigurationError, match="'privkey' is not a kind .* cert, chain, fullchain, key"):
        layout.file_path('/x', 'privkey')
