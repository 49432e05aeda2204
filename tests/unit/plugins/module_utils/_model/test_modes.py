# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.files import parse_mode as common_parse_mode
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import normalize_mode, parse_mode


@pytest.mark.parametrize('mode, expected', [('0640', 0o640), ('640', 0o640), ('0600', 0o600), ('0777', 0o777),
                                            ('000', 0)])
def test_octal_strings(mode, expected):
    assert parse_mode(mode) == expected


@pytest.mark.parametrize('mode', [660, 644, 0o640, 0])
def test_a_number_is_refused_saying_to_quote_it(mode):
    with pytest.raises(ConfigurationError) as err:
        parse_mode(mode, 'autotls_key_mode')
    assert str(err.value).startswith('autotls_key_mode is the number %d' % mode)
    assert 'quote it, e.g. "0640"' in str(err.value)
    assert '01224' in str(err.value)


@pytest.mark.parametrize('mode', ['7777777', '-1', '1777', '4755', '0o640', 'u=rw', '', ' 0640', '0640\n', '999',
                                  '64', True, None, 6.4])
def test_anything_else_is_refused(mode):
    with pytest.raises(ConfigurationError) as err:
        parse_mode(mode, 'mode of certificate app1')
    assert 'mode of certificate app1' in str(err.value)
    assert '"0640"' in str(err.value)


@pytest.mark.parametrize('mode', ['0644', '0604', '0601', '0602', '0666', '0777'])
def test_a_key_mode_giving_others_access_is_refused(mode):
    assert parse_mode(mode) == int(mode, 8)  # fine for a certificate
    with pytest.raises(ConfigurationError) as err:
        parse_mode(mode, 'autotls_key_mode', key=True)
    assert "autotls_key_mode '%s' gives every user on the host access to the private key" % mode in str(err.value)


@pytest.mark.parametrize('mode', ['0600', '0640', '0660', '0400', '0440'])
def test_key_modes_without_other(mode):
    assert parse_mode(mode, key=True) == int(mode, 8)


def test_normalize_gives_four_digits():
    assert normalize_mode('640') == '0640'


def test_the_host_side_import_is_the_same_rule():
    assert common_parse_mode is parse_mode
