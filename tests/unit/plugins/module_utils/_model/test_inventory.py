import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.inventory import gather_certificates

WILD = {'name': 'qa1', 'domains': ['*.qa1.example.com', 'qa1.example.com'], 'challenge': 'dns-01'}


def test_group_and_host_declarations_are_merged_by_name_with_their_hosts():
    hostvars = {
        'app1': {'autotls_certificates': [WILD],
                 'autotls_host_certificates': [{'name': 'app1', 'domains': ['app1.example.com']}]},
        'app2': {'autotls_certificates': [dict(WILD, domains=['QA1.example.com.', '*.qa1.example.com'])]},
        'db1': {},
    }
    gathered = gather_certificates(hostvars, ['app1', 'app2', 'db1'])
    assert [c['name'] for c in gathered] == ['qa1', 'app1']
    assert gathered[0]['hosts'] == ['app1', 'app2']
    assert gathered[1]['hosts'] == ['app1']


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
