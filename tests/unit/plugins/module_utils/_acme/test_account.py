# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The account: contact addresses, and the RFC 8555 key-change request as it leaves the client."""

import json
import types

import josepy as jose
import pytest
from acme import jws as acme_jws
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.autotls.acme.plugins.module_utils._acme import account
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeProtocolError, ConfigurationError


def test_contact_addresses():
    assert account.contact_of('ops@example.com, pki@example.com') == ['mailto:ops@example.com', 'mailto:pki@example.com']
    assert account.contact_of(['ops@example.com']) == ['mailto:ops@example.com']
    assert account.contact_of(None) is None
    for bad in ('mailto:ops@example.com', 'ops', 'ops@example.com\nBcc: x@y'):
        with pytest.raises(ConfigurationError, match='is not an e-mail address'):
            account.contact_of([bad])


class _Client:
    def __init__(self):
        self.posted = []

    def _post(self, url, obj):
        self.posted.append((url, obj))


def test_the_key_change_is_an_inner_jws_signed_by_the_new_key_with_the_old_key_inside():
    old = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    client = _Client()
    session = types.SimpleNamespace(directory={'keyChange': 'https://ca.test/key-change'}, jwk=old,
                                    account=types.SimpleNamespace(uri='https://ca.test/acct/1'),
                                    directory_url='https://ca.test/dir', client=lambda: client)
    new_pem = account.new_account_key('ec256')
    account.key_change(session, new_pem)
    [(url, inner)] = client.posted
    assert url == 'https://ca.test/key-change'
    # What the CA receives as the outer payload, read back as the CA reads it.
    parsed = acme_jws.JWS.json_loads(inner.json_dumps())
    header = parsed.signature.combined
    assert header.url == url and header.nonce is None and header.kid is None
    assert parsed.verify(header.jwk)                                   # signed by the key it carries
    payload = json.loads(parsed.payload)
    assert payload == {'account': 'https://ca.test/acct/1', 'oldKey': old.public_key().to_partial_json()}
    assert header.jwk.thumbprint() != old.thumbprint()


def test_a_ca_without_key_change_is_named():
    session = types.SimpleNamespace(directory={}, directory_url='https://ca.test/dir')
    with pytest.raises(AcmeProtocolError, match='offers no key change'):
        account.key_change(session, account.new_account_key('ec256'))
    with pytest.raises(ConfigurationError, match="new_key_type 'dsa'"):
        account.new_account_key('dsa')
