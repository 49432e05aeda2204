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


def _session_of(pem):
    jwk, _alg = account.account_jwk(pem)
    return types.SimpleNamespace(jwk=jwk)


def test_prepare_writes_the_new_key_and_keeps_one_already_waiting(tmp_path):
    current = account.new_account_key('ec256')
    pending = tmp_path / 'store' / 'account.pem.new'
    rollover = account.Rollover(_session_of(current), str(pending), None, 'ec384')
    first = rollover.prepare()
    assert pending.read_bytes() == first and oct(pending.stat().st_mode & 0o777) == '0o600'
    assert b'PRIVATE KEY' in first and not account.same_key(first, current)
    # A key already waiting (pushed to the store, perhaps known to the CA) is never replaced.
    assert rollover.prepare() == first and pending.read_bytes() == first
    # ... unless it is the account's current key itself (a vault key moved in place, its file left).
    pending.write_bytes(current)
    again = rollover.prepare()
    assert not account.same_key(again, current) and pending.read_bytes() == again
    pending.write_bytes(b'not a key')
    with pytest.raises(account.KeyMaterialError, match='waiting in %s does not load' % pending):
        rollover.prepare()


@pytest.mark.parametrize('as_content', [False, True])
def test_an_unfinished_rollover_is_named_until_the_new_key_is_configured(tmp_path, as_content):
    old, new = account.new_account_key('ec256'), account.new_account_key('ec256')
    pending = tmp_path / 'account-new.pem'
    issuer = {'name': 'zerossl', 'directory': 'https://ca.test/dir', 'account_key_pending': str(pending)}
    if as_content:
        issuer['account_key_content'] = old.decode()
    else:
        (tmp_path / 'account.pem').write_bytes(old)
        issuer['account_key_src'] = str(tmp_path / 'account.pem')
    assert account.unfinished_rollover(issuer) is None                    # nothing waiting
    pending.write_bytes(new)
    assert account.unfinished_rollover(issuer, tidy=True) == str(pending)
    with pytest.raises(ConfigurationError) as refused:
        account.refuse_unfinished_rollover([{'name': 'first', 'directory': 'https://a.test/dir'}, issuer])
    message = str(refused.value)
    assert 'rollover at issuer zerossl is not finished: a new account key is waiting in %s' % pending in message
    assert '-e autotls_account_rollover=true -e autotls_account_issuer=zerossl' in message
    assert ('AWX credential of type "ACME account"' in message) is as_content
    assert pending.exists()
    # The new key configured: no longer pending; a vault key's left file is deleted with tidy.
    if as_content:
        issuer['account_key_content'] = new.decode()
    else:
        (tmp_path / 'account.pem').write_bytes(new)
    assert account.unfinished_rollover(issuer) is None and pending.exists()
    account.refuse_unfinished_rollover([issuer], tidy=True)
    assert pending.exists() is not as_content


def test_a_new_key_waiting_for_an_issuer_without_a_key_file_yet_is_pending(tmp_path):
    pending = tmp_path / 'account.pem.new'
    pending.write_bytes(account.new_account_key('ec256'))
    issuer = {'name': 'first', 'directory': 'https://ca.test/dir', 'account_key_src': str(tmp_path / 'account.pem'),
              'account_key_pending': str(pending)}
    assert account.unfinished_rollover(issuer) == str(pending)


class _RefusingClient:
    """A CA that answers the key change with 500 "not implemented", as ZeroSSL does."""

    def _post(self, url, obj):
        raise AcmeProtocolError('Server error: not implemented', status=500,
                                problem={'type': 'urn:ietf:params:acme:error:serverInternal'})


def _rollover_at(tmp_path, directory, monkeypatch, new_key_finds):
    current = account.new_account_key('ec256')
    jwk, _alg = account.account_jwk(current)
    session = types.SimpleNamespace(directory=directory, directory_url='https://ca.test/dir', jwk=jwk,
                                    account=types.SimpleNamespace(uri='https://ca.test/acct/1'),
                                    client=_RefusingClient, close=lambda: None)
    others = []

    def session_like(base, pem):
        other = types.SimpleNamespace(pem=pem, close=lambda: None)
        others.append(other)
        return other

    monkeypatch.setattr(account, 'session_like', session_like)
    monkeypatch.setattr(account, 'find_account',
                        lambda s: 'https://ca.test/acct/1' if s is session else new_key_finds)
    pending = tmp_path / 'store' / 'account.pem.pending'
    return account.Rollover(session, str(pending), None, 'ec256'), pending


def test_a_ca_without_key_change_is_refused_before_any_key_is_written(tmp_path, monkeypatch):
    rollover, pending = _rollover_at(tmp_path, {'newAccount': 'https://ca.test/new'}, monkeypatch, None)
    with pytest.raises(AcmeProtocolError, match='the account key cannot be rolled over there. Nothing was written'):
        rollover.run()
    assert not pending.exists() and not pending.parent.exists()


def test_a_refused_key_change_removes_the_new_key_when_the_ca_surely_kept_the_old_one(tmp_path, monkeypatch):
    rollover, pending = _rollover_at(tmp_path, {'keyChange': 'https://ca.test/kc'}, monkeypatch, None)
    with pytest.raises(AcmeProtocolError) as raised:
        rollover.run()
    assert not pending.exists()
    assert 'not implemented' in str(raised.value) and 'the new key was removed from %s' % pending in str(raised.value)
    assert raised.value.status == 500 and raised.value.details['status'] == 500


def test_a_refused_key_change_keeps_the_new_key_when_the_ca_may_have_taken_it(tmp_path, monkeypatch):
    rollover, pending = _rollover_at(tmp_path, {'keyChange': 'https://ca.test/kc'}, monkeypatch, 'https://ca.test/acct/1')
    with pytest.raises(AcmeProtocolError, match='It is not clear whether the CA took the new key') as raised:
        rollover.run()
    assert pending.exists() and 'new key finds https://ca.test/acct/1' in str(raised.value)
    assert 'kept in %s' % pending in str(raised.value)


def test_a_new_key_left_under_the_former_name_is_still_found_unless_it_is_an_issuers_key(tmp_path):
    old, new = account.new_account_key('ec256'), account.new_account_key('ec256')
    legacy = tmp_path / 'account-new.pem'
    legacy.write_bytes(new)
    issuer = {'name': 'first', 'directory': 'https://ca.test/dir', 'account_key_content': old.decode(),
              'account_key_pending': str(tmp_path / 'account.pem.pending')}
    assert account.unfinished_rollover(issuer) == str(legacy)
    # account-new.pem is the key file of an issuer named "new": it is that issuer's key, not a waiting one.
    other = {'name': 'new', 'directory': 'https://b.test/dir', 'account_key_src': str(legacy)}
    account.refuse_unfinished_rollover([issuer, other])


def test_only_the_issuer_with_the_waiting_key_is_held(tmp_path):
    old, new = account.new_account_key('ec256'), account.new_account_key('ec256')
    (tmp_path / 'account.pem').write_bytes(old)
    (tmp_path / 'account-zerossl.pem').write_bytes(old)
    (tmp_path / 'account-zerossl.pem.new').write_bytes(new)
    issuers = [{'name': 'le', 'directory': 'https://a.test/dir', 'account_key_src': str(tmp_path / 'account.pem'),
                'account_key_pending': str(tmp_path / 'account.pem.new')},
               {'name': 'zerossl', 'directory': 'https://b.test/dir',
                'account_key_src': str(tmp_path / 'account-zerossl.pem'),
                'account_key_pending': str(tmp_path / 'account-zerossl.pem.new')}]
    held = account.unfinished_rollovers(issuers)
    assert list(held) == ['zerossl'] and 'waiting in %s' % (tmp_path / 'account-zerossl.pem.new') in held['zerossl']
    account.refuse_unfinished_rollover(issuers[:1])          # revoking at le is not refused
    with pytest.raises(ConfigurationError, match='rollover at issuer zerossl is not finished'):
        account.refuse_unfinished_rollover(issuers[1:])
