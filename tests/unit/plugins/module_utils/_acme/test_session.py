# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ACME set-up the certificate, account and revoke modules share: issuers from the
options, the account key (read, or made on first use), the session of one issuer."""

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.autotls.acme.plugins.module_utils._acme.session import (
    acme_argument_spec,
    issuer_named,
    issuers_from_params,
    read_account_key,
    session_from_issuer,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

KEY = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode('ascii')


def _params(**options):
    params = {k: v.get('default') for k, v in acme_argument_spec(issuers=True).items()}
    params.update(options)
    return params


def test_the_issuers_option_or_the_one_issuer_form():
    issuers = issuers_from_params(_params(issuers=[
        {'directory': 'letsencrypt', 'account_key_content': KEY, 'name': None},
        {'name': 'zerossl', 'directory': 'zerossl', 'account_key_src': '/srv/a.pem', 'terms_agreed': None}],
        account_email='ops@example.com', terms_agreed=True))
    assert [i['name'] for i in issuers] == ['letsencrypt', 'zerossl']
    assert all(i['account_email'] == 'ops@example.com' and i['terms_agreed'] is True for i in issuers)
    [single] = issuers_from_params(_params(acme_directory='letsencrypt', account_key_src='/srv/account.pem'))
    assert single['directory'] == 'letsencrypt' and single['account_key_src'] == '/srv/account.pem'
    with pytest.raises(ConfigurationError, match='issuers and acme_directory are both set'):
        issuers_from_params(_params(acme_directory='letsencrypt', issuers=[{'directory': 'zerossl'}]))
    with pytest.raises(ConfigurationError, match='one of acme_directory or issuers is required'):
        issuers_from_params(_params())
    with pytest.raises(ConfigurationError, match='one of account_key_src or account_key_content'):
        issuers_from_params(_params(acme_directory='letsencrypt'))
    # Revoking with the certificate's own key needs no account key.
    assert issuers_from_params(_params(acme_directory='letsencrypt'), need_key=False)[0]['name'] == 'letsencrypt'


def test_an_issuer_is_picked_by_name_and_an_unknown_one_refused():
    issuers = [{'name': 'letsencrypt', 'directory': 'letsencrypt'}, {'name': 'zerossl', 'directory': 'zerossl'}]
    assert issuer_named(issuers, None) is issuers[0] and issuer_named(issuers, 'zerossl') is issuers[1]
    with pytest.raises(ConfigurationError, match="issuer 'other' is not one of the issuers: letsencrypt, zerossl"):
        issuer_named(issuers, 'other')


def test_the_account_key_is_made_on_first_use_only_where_asked(tmp_path):
    path = str(tmp_path / 'store' / 'account-zerossl.pem')
    issuer = {'name': 'zerossl', 'directory': 'zerossl', 'account_key_src': path}
    with pytest.raises(ConfigurationError) as refused:
        read_account_key(issuer, make=False)
    assert path in str(refused.value) and 'issuer zerossl' in str(refused.value) and not os.path.exists(path)
    assert read_account_key(issuer, make=True, check_mode=True) and not os.path.exists(path)
    made = read_account_key(issuer, make=True)
    assert oct(os.stat(path).st_mode & 0o777) == '0o600' and read_account_key(issuer, make=False) == made
    assert read_account_key({'name': 'x', 'directory': 'x', 'account_key_content': KEY}) == KEY.encode()
    with pytest.raises(ConfigurationError, match='has no account key'):
        read_account_key({'name': 'x', 'directory': 'letsencrypt'})


def test_the_session_of_an_issuer_has_its_directory_trust_and_key(tmp_path):
    bundle = str(tmp_path / 'ca.pem')
    issuer = {'name': 'le', 'directory': 'letsencrypt_staging', 'account_key_content': KEY, 'ca_bundle': bundle}
    session = session_from_issuer(issuer, {'validate_certs': True, 'request_timeout': 7})
    assert session.directory_url == 'https://acme-staging-v02.api.letsencrypt.org/directory'
    assert (session.verify, session.request_timeout) == (bundle, 7)
    # A given key (the certificate's own, to revoke without an account) needs no account key.
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    session = session_from_issuer({'name': 'x', 'directory': 'letsencrypt'}, {}, key_pem=other)
    assert session.alg.name == 'ES384'
