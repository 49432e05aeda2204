# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The model of an issuer: autotls_issuers, and the one-issuer form as a list of one."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.issuers import (
    choose_issuer,
    issuer_setup,
    issuer_setup_from_vars,
    issuers_from_settings,
    legacy_pending_key_path,
    validate_issuers,
)

FP = '94:22:F3:55' + ':AB' * 28
# An account key made for the test run, as an operator's vault would hold one.
KEY = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode('ascii')


def test_the_one_issuer_form_is_a_list_of_one():
    single = {'autotls_acme_directory': 'https://ca.internal:9443/acme/acme/directory',
              'autotls_ca_root_fingerprint': FP, 'autotls_acme_ca_bundle': None, 'autotls_eab_kid': ''}
    [issuer] = issuers_from_settings(None, single, {'autotls_terms_agreed': 'true'}, '/srv/autotls/')
    assert issuer == {'name': 'ca.internal', 'directory': single['autotls_acme_directory'],
                      'fingerprint': '9422f355' + 'ab' * 28, 'terms_agreed': True,
                      'account_key_src': '/srv/autotls/account.pem', 'account_key_pending': '/srv/autotls/account.pem.new'}


def test_issuers_in_order_with_names_keys_and_roots():
    setup = issuer_setup([
        {'directory': 'letsencrypt', 'account_key_content': KEY, 'profile': 'shortlived'},
        {'directory': 'https://ca.internal:9443/acme/acme/directory', 'fingerprint': FP, 'terms_agreed': False},
        {'directory': 'https://ca.internal:9443/acme/other/directory', 'ca_bundle': '/etc/ssl/ca.pem'},
    ], {}, {'autotls_terms_agreed': True, 'autotls_account_email': 'ops@example.com'}, '/srv/autotls')
    first, second, third = setup['issuers']
    assert setup['names'] == ['letsencrypt', 'ca.internal', 'ca.internal-2']
    assert first['account_key_content'] == KEY and 'account_key_src' not in first
    assert first['terms_agreed'] is True and first['account_email'] == 'ops@example.com'
    assert second['terms_agreed'] is False          # its own setting wins
    assert second['account_key_src'] == '/srv/autotls/account-ca.internal.pem'
    assert second['ca_bundle'] == '/srv/autotls/ca-root-ca.internal.pem'
    assert third['ca_bundle'] == '/etc/ssl/ca.pem'
    assert setup['roots'] == [{'issuer': 'ca.internal', 'url': 'https://ca.internal:9443', 'fingerprint': '9422f355' + 'ab' * 28,
                               'dest': '/srv/autotls/ca-root-ca.internal.pem', 'trust_name': 'acme-ca-ca.internal'}]


def test_the_first_issuer_keeps_the_one_issuer_files_and_trust_name():
    setup = issuer_setup(None, {'autotls_acme_directory': 'https://step:9000/acme/acme/directory',
                                'autotls_ca_root_fingerprint': FP, 'autotls_ca_url': 'https://step:9001'}, {}, '/s')
    assert setup['roots'] == [{'issuer': 'step', 'url': 'https://step:9001', 'fingerprint': '9422f355' + 'ab' * 28,
                               'dest': '/s/ca-root.pem', 'trust_name': 'acme-ca'}]


@pytest.mark.parametrize('issuers, single, words', [
    ([{'directory': 'letsencrypt', 'acount_key_src': '/k'}], {},
     ["autotls_issuers[0]", "'acount_key_src'", "did you mean 'account_key_src'"]),
    ([{'directory': 'lets-encrypt'}], {}, ['autotls_issuers[0]: directory', "'lets-encrypt'", 'letsencrypt']),
    ([{'account_key_src': '/k'}], {}, ['autotls_issuers[0]: directory is missing']),
    ([{'directory': 'letsencrypt', 'fingerprint': 'abc'}], {}, ['fingerprint', "'abc'", '64 hex digits']),
    ([{'directory': 'letsencrypt', 'eab_kid': 'k'}], {}, ['eab_kid and eab_hmac_key']),
    ([{'directory': 'letsencrypt', 'eab_kid': 'k', 'eab_hmac_key': 'h', 'eab_alg': 'MD5'}], {}, ["eab_alg 'MD5'", 'HS256']),
    ([{'directory': 'letsencrypt', 'account_key_src': '/a', 'account_key_content': KEY}], {}, ['not both']),
    ([{'directory': 'letsencrypt', 'account_key_content': 'vault_key'}], {}, ['PEM text']),
    ([{'directory': 'letsencrypt', 'terms_agreed': 'maybe'}], {}, ['terms_agreed must be true or false']),
    ([{'directory': 'letsencrypt', 'name': 'le'}, {'directory': 'zerossl', 'name': 'le'}], {},
     ["autotls_issuers[1] (le): name 'le' is used by another issuer"]),
    ([{'directory': 'letsencrypt', 'name': '../le'}], {}, ["name '../le'"]),
    ('letsencrypt', {}, ['autotls_issuers must be a list']),
    ([{'directory': 'letsencrypt'}], {'autotls_acme_directory': 'zerossl'},
     ['autotls_issuers and autotls_acme_directory are both set']),
    (None, {}, ['No CA is set', 'autotls_acme_directory', 'autotls_issuers']),
    (None, {'autotls_acme_directory': 'letsencrypt', 'autotls_ca_root_fingerprint': 'sha1:ab'},
     ['the one-issuer settings', 'fingerprint']),
])
def test_bad_issuers_are_refused_naming_the_key_and_what_to_change(issuers, single, words):
    with pytest.raises(ConfigurationError) as err:
        issuers_from_settings(issuers, single)
    for word in words:
        assert word in str(err.value)


def test_an_empty_list_is_refused():
    with pytest.raises(ConfigurationError, match='give at least one issuer'):
        validate_issuers([])


def test_a_hosts_variables_give_the_same_issuers_as_the_issue_role():
    variables = {'autotls_issuers': [{'directory': 'letsencrypt', 'account_key_content': KEY},
                                     {'name': 'zerossl', 'directory': 'zerossl', 'eab_kid': 'kid', 'eab_hmac_key': 'hmac'}],
                 'autotls_account_email': 'ops@example.com', 'inventory_hostname': 'localhost'}
    setup = issuer_setup_from_vars(variables, '/srv/autotls')
    assert setup == issuer_setup(variables['autotls_issuers'], {}, {'autotls_account_email': 'ops@example.com'},
                                 '/srv/autotls')
    assert setup['form'] == 'issuers' and setup['issuers'][1]['account_key_src'] == '/srv/autotls/account-zerossl.pem'
    single = issuer_setup_from_vars({'autotls_acme_directory': 'letsencrypt'}, '/srv/autotls')
    assert single['form'] == 'single' and single['names'] == ['letsencrypt']
    with pytest.raises(ConfigurationError, match='No CA is set'):
        issuer_setup_from_vars({}, '/srv/autotls')


def test_the_account_issuer_is_chosen_by_name_and_says_which_setting_holds_its_key():
    setup = issuer_setup([{'directory': 'letsencrypt', 'account_key_content': KEY}, {'directory': 'zerossl'}],
                         {}, {}, '/srv/autotls')
    assert choose_issuer(setup) == {'name': 'letsencrypt', 'index': 0, 'names': ['letsencrypt', 'zerossl'],
                                    'key_setting': 'autotls_issuers[0].account_key_content (issuer letsencrypt)',
                                    'key_file': None, 'pending_key': '/srv/autotls/account.pem.pending'}
    chosen = choose_issuer(setup, 'zerossl')
    assert (chosen['index'], chosen['key_file'], chosen['pending_key']) == (
        1, '/srv/autotls/account-zerossl.pem', '/srv/autotls/account-zerossl.pem.new')
    with pytest.raises(ConfigurationError) as refused:
        choose_issuer(setup, 'zerosll')
    assert "autotls_account_issuer 'zerosll' is not one of the issuers: letsencrypt, zerossl" in str(refused.value)
    single = issuer_setup(None, {'autotls_acme_directory': 'letsencrypt', 'autotls_account_key_content': KEY}, {}, '/s')
    assert choose_issuer(single, '')['key_setting'] == 'autotls_account_key_content'


def test_where_a_rollover_keeps_the_new_key_of_each_issuer():
    """In the store, so that an S3 store holds it before the CA hears of it; one given is kept."""
    issuers = issuers_from_settings([
        {'directory': 'letsencrypt'},
        {'name': 'zerossl', 'directory': 'zerossl', 'account_key_content': KEY},
        {'name': 'own', 'directory': 'https://ca.test/dir', 'account_key_src': '/etc/acme/own.pem'},
        {'name': 'set', 'directory': 'https://ca2.test/dir', 'account_key_content': KEY,
         'account_key_pending': '/secure/new.pem'},
    ], None, None, '/srv/autotls/')
    assert [i['account_key_pending'] for i in issuers] == [
        '/srv/autotls/account.pem.new', '/srv/autotls/account-zerossl.pem.pending', '/etc/acme/own.pem.new',
        '/secure/new.pem']
    vault_first = issuers_from_settings([{'directory': 'letsencrypt', 'account_key_content': KEY}], store_path='/s')
    assert vault_first[0]['account_key_pending'] == '/s/account.pem.pending'
    # Without a store (a module's own issuers), nothing is made up.
    assert 'account_key_pending' not in validate_issuers([{'directory': 'letsencrypt'}])[0]


def test_the_new_key_of_a_vault_key_never_takes_the_key_file_name_of_another_issuer():
    """An issuer named ``new`` keeps its key in account-new.pem; the first issuer's waiting key is elsewhere."""
    issuers = issuers_from_settings([{'directory': 'letsencrypt', 'account_key_content': KEY},
                                     {'name': 'new', 'directory': 'zerossl'},
                                     {'name': 'b', 'directory': 'https://ca.test/dir', 'account_key_content': KEY}],
                                    None, None, '/s')
    files = [i.get('account_key_src') for i in issuers] + [i['account_key_pending'] for i in issuers]
    assert len(set(files) - {None}) == 4 and len(files) - files.count(None) == 4
    assert [i['account_key_pending'] for i in issuers][::2] == ['/s/account.pem.pending', '/s/account-b.pem.pending']
    assert legacy_pending_key_path('/s/account.pem.pending') == '/s/account-new.pem'
    assert legacy_pending_key_path('/s/account-b.pem.pending') == '/s/account-b-new.pem'
    assert legacy_pending_key_path('/s/account.pem.new') is None
