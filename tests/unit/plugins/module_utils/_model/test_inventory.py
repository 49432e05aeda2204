# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.inventory import gather_certificates, host_certificates

WILD = {'name': 'qa1', 'domains': ['*.qa1.example.com', 'qa1.example.com'], 'challenge': 'dns-01'}


def test_group_and_host_declarations_are_merged_by_name_with_their_hosts():
    hostvars = {
        'app1': {'autotls_certificates': [WILD],
                 'autotls_host_certificates': [{'name': 'app1', 'domains': ['app1.example.com']}]},
        'app2': {'autotls_certificates': [dict(WILD, domains=['QA1.example.com.', '*.qa1.example.com'])]},
        'db1': {},
    }
    gathered = gather_certificates(hostvars, ['app1', 'app2', 'db1'])
    assert [c['name'] for c in gathered] == ['app1', 'qa1']
    assert gathered[1]['hosts'] == ['app1', 'app2']
    assert gathered[0]['hosts'] == ['app1']
    assert gathered[1]['domains'] == ['*.qa1.example.com', 'qa1.example.com']


def test_the_same_name_with_other_domains_names_both_places():
    hostvars = {
        'app1': {'autotls_certificates': [WILD]},
        'app9': {'autotls_host_certificates': [{'name': 'qa1', 'domains': ['other.example.com']}]},
    }
    with pytest.raises(ConfigurationError) as err:
        gather_certificates(hostvars, ['app1', 'app9'])
    message = str(err.value)
    assert 'app1' in message and 'app9' in message
    assert 'autotls_certificates' in message and 'autotls_host_certificates' in message
    assert 'other.example.com' in message


def test_a_malformed_declaration_says_what_is_missing():
    with pytest.raises(ConfigurationError) as err:
        gather_certificates({'app1': {'autotls_certificates': [{'name': 'x'}]}}, ['app1'])
    assert 'domains' in str(err.value) and 'app1' in str(err.value)


def test_the_host_entry_wins_over_the_group_entry_of_the_same_name_on_that_host():
    group = {'name': 'web', 'domains': ['web.example.com'], 'key_mode': '0600'}
    own = {'name': 'web', 'domains': ['web.example.com'], 'key_mode': '0640', 'group': 'www-data'}
    gathered = gather_certificates({'app1': {'autotls_certificates': [group], 'autotls_host_certificates': [own]},
                                    'app2': {'autotls_certificates': [group]}}, ['app1', 'app2'])
    assert len(gathered) == 1 and gathered[0]['hosts'] == ['app1', 'app2']
    assert host_certificates([own], [group], 'app1') == [dict(own, challenge='dns-01', key_type='ec256')]


def test_a_host_may_redefine_a_group_certificate_it_alone_serves():
    # Other domains than its group's: on this host, the host's entry is what counts.
    group = {'name': 'web', 'domains': ['web.example.com']}
    own = {'name': 'web', 'domains': ['app1.example.com']}
    gathered = gather_certificates({'app1': {'autotls_certificates': [group], 'autotls_host_certificates': [own]}},
                                   ['app1'])
    assert gathered[0]['domains'] == ['app1.example.com']


def test_entries_are_validated_with_where_they_come_from():
    with pytest.raises(ConfigurationError) as err:
        gather_certificates({'app7': {'autotls_certificates': [{'name': 'x', 'domains': 'x.example.com'}]}}, ['app7'])
    assert "Certificate 'x' in autotls_certificates of host app7: domains must be a list" in str(err.value)


def test_a_name_twice_in_one_list_is_refused():
    entry = {'name': 'x', 'domains': ['x.example.com']}
    with pytest.raises(ConfigurationError, match="'x' is declared twice in autotls_host_certificates of host a"):
        host_certificates([entry, entry], [], 'a')


def test_not_a_list():
    with pytest.raises(ConfigurationError, match='autotls_certificates of host a must be a list'):
        host_certificates([], {'name': 'x'}, 'a')
