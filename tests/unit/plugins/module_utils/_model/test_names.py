# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.names import is_valid_name, validate_name


@pytest.mark.parametrize('name', ['app1', 'qa1-wildcard', 'app1.example.com', 'a_b', '0', 'A' * 64])
def test_plain_file_names_pass(name):
    assert validate_name(name) == name


@pytest.mark.parametrize('name', ['has space', 'app\n', '\napp', '.hidden', '-opt', '../../etc/passwd', 'a/b',
                                  '', None, 42, 'A' * 65, 'café', 'a;b', '_x'])
def test_anything_else_is_refused_naming_the_value_and_the_rule(name):
    assert not is_valid_name(name)
    with pytest.raises(ConfigurationError) as err:
        validate_name(name, 'autotls_host_certificates of host app1')
    message = str(err.value)
    assert "letters, digits, '.', '_' and '-'" in message
    assert 'autotls_host_certificates of host app1' in message
    if name:
        assert repr(name) in message


def test_a_trailing_newline_is_not_a_match():
    # re.match with '$' would take it: the rule is a full match.
    assert not is_valid_name('app1\n')
