# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.revoke when things go wrong: a CA that refuses leaves the certificate in
place; a CA that revoked but cannot be asked afterwards still has the files set aside.
The issuer asked is the one the store recorded with the certificate.

The module runs in-process; the CA is replaced by a stand-in at the session (the real
CAs are in tests/integration/test_lifecycle.py)."""

import json
import os
import types

import pytest
try:        # ansible-core 2.19 and later
    from ansible.module_utils.testing import patch_module_args
except ImportError:     # the declared minimum, 2.17: the arguments are read from basic._ANSIBLE_ARGS
    import contextlib

    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved
from testbed.fake_ca import Issuing, write_store_cert

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeNetworkError, AcmeProtocolError
from ansible_collections.autotls.acme.plugins.modules import revoke

ISSUERS = [{'name': 'letsencrypt', 'directory': 'https://le.test/dir', 'account_key_src': '/nonexistent/le.pem'},
           {'name': 'zerossl', 'directory': 'https://zerossl.test/dir', 'account_key_src': '/nonexistent/zs.pem'}]


class _Revoker:
    """Revocations as a CA answers them: ``revoke_error`` refuses, ``confirm_error`` is a CA gone afterwards."""
    revoke_error = None
    confirm_error = None

    def __init__(self, session, options=None):
        self.session = session

    def revoke(self, cert, reason, key_pem=None):
        if self.revoke_error is not None:
            raise self.revoke_error
        return True

    def confirm(self, cert, reason, key_pem=None):
        if self.confirm_error is not None:
            raise self.confirm_error
        return True, 'the CA answered a second revocation request with alreadyRevoked'


def _run(monkeypatch, capsys, dest, sessions, args=None, **revoker):
    def session_from_issuer(issuer, params, check_mode=False, make_key=True, key_pem=None):
        sessions.append(issuer['name'])
        return types.SimpleNamespace(account=types.SimpleNamespace(uri='https://ca.test/acct/1'), close=lambda: None)

    monkeypatch.setattr(revoke, 'session_from_issuer', session_from_issuer)
    monkeypatch.setattr(revoke, 'Revoker', type('Revoker', (_Revoker,), revoker))
    with patch_module_args(dict({'issuers': ISSUERS, 'dest': dest, 'name': 'app1'}, **(args or {}))):
        with pytest.raises(SystemExit):
            revoke.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def store(tmp_path):
    dest = str(tmp_path / 'certs')
    cert = write_store_cert(Issuing(), dest, 'app1', ['app1.example.test'], 90, 60)
    with open(os.path.join(dest, 'app1', 'issuer.json'), 'w', encoding='utf-8') as handle:
        json.dump({'issuer': 'zerossl', 'directory': 'https://zerossl.test/dir'}, handle)
    return dest, '%x' % cert.serial_number


def test_a_ca_gone_after_it_revoked_still_has_the_files_set_aside(monkeypatch, capsys, store, tmp_path):
    dest, serial = store
    sessions = []
    result = _run(monkeypatch, capsys, dest, sessions, confirm_error=AcmeNetworkError('Could not reach the CA'))
    assert not result.get('failed'), result
    assert sessions == ['zerossl'] and (result['acme_issuer'], result['issuer_found_by']) == ('zerossl', 'recorded')
    assert result['check']['revoked'] is None and result['check']['method'] is None
    assert 'could not be asked afterwards' in result['check']['detail']
    aside = str(tmp_path / 'revoked' / 'app1' / serial)
    assert result['set_aside_to'] == aside and os.path.isfile(os.path.join(aside, 'cert.pem'))
    assert os.path.isfile(os.path.join(aside, 'issuer.json')) and not os.path.exists(os.path.join(dest, 'app1'))


def test_a_ca_that_refuses_leaves_the_certificate_in_place(monkeypatch, capsys, store, tmp_path):
    dest, serial = store
    refused = AcmeProtocolError('The CA at https://zerossl.test/dir refused to revoke serial %s: unauthorized' % serial,
                                problem={'type': 'urn:ietf:params:acme:error:unauthorized'}, status=403)
    result = _run(monkeypatch, capsys, dest, [], revoke_error=refused)
    assert result['failed'] and 'refused to revoke' in result['msg'] and 'set_aside_to' not in result
    assert os.path.isfile(os.path.join(dest, 'app1', 'cert.pem')) and not (tmp_path / 'revoked').exists()


def test_a_root_two_issuers_trust_is_refused_before_any_ca_is_asked_unless_the_issuer_is_given(
        monkeypatch, capsys, tmp_path):
    """No record, and both issuers' CA bundles hold the root that signed it: which one to ask is the operator's call."""
    dest = str(tmp_path / 'certs')
    root = Issuing()
    cert = write_store_cert(root, dest, 'app1', ['app1.example.test'], 90, 60)
    bundle = tmp_path / 'ca-root.pem'
    bundle.write_bytes(root.pem)
    issuers = [dict(i, ca_bundle=str(bundle)) for i in ISSUERS]
    sessions = []
    result = _run(monkeypatch, capsys, dest, sessions, args={'issuers': issuers})
    assert result['failed'] and sessions == [], result
    assert result['candidate_issuers'] == ['letsencrypt', 'zerossl']
    msg = result['msg']
    for text in ('app1', '%x' % cert.serial_number, 'was not revoked', 'letsencrypt, zerossl',
                 'give the one that did as the issuer option', '-e autotls_revoke_issuer=NAME',
                 'autotls_retire_issuers: {app1: NAME}'):
        assert text in msg, msg
    assert os.path.isfile(os.path.join(dest, 'app1', 'cert.pem')) and not (tmp_path / 'revoked').exists()
    # Given: revoked there, and said so.
    result = _run(monkeypatch, capsys, dest, sessions, args={'issuers': issuers, 'issuer': 'zerossl'})
    assert not result.get('failed'), result
    assert sessions == ['zerossl'] and (result['acme_issuer'], result['issuer_found_by']) == ('zerossl', 'given')
    assert result['set_aside_to'] == str(tmp_path / 'revoked' / 'app1' / ('%x' % cert.serial_number))


def test_retirement_leaves_a_certificate_another_inventory_owns(monkeypatch, capsys, store, tmp_path):
    dest, serial = store
    record = os.path.join(dest, 'app1', 'issuer.json')
    with open(record, 'w', encoding='utf-8') as handle:
        json.dump({'issuer': 'zerossl', 'directory': 'https://zerossl.test/dir', 'owner': 'qa2'}, handle)
    retire = {'aside': 'retired', 'reason': 'cessationOfOperation', 'owner': 'qa1'}
    sessions = []
    result = _run(monkeypatch, capsys, dest, sessions, args=retire)
    assert (result['not_ours'], result['owner'], result['revoked'], result['changed']) == (True, 'qa2', False, False)
    assert sessions == [] and os.path.isfile(os.path.join(dest, 'app1', 'cert.pem'))
    # Without an owner of its own, an inventory leaves it too.
    result = _run(monkeypatch, capsys, dest, sessions, args=dict(retire, owner=None))
    assert result['not_ours'] is True and sessions == []
    # Its own owner's run retires it: revoked at the issuer recorded, set aside.
    result = _run(monkeypatch, capsys, dest, sessions, args=dict(retire, owner='qa2'))
    assert (result['not_ours'], result['unowned'], result['revoked'], sessions) == (False, False, True, ['zerossl'])
    assert result['set_aside_to'] == os.path.join(str(tmp_path), 'retired', 'app1', serial)


def test_retirement_takes_a_certificate_with_no_owner_recorded_as_its_own_and_says_so(monkeypatch, capsys, store):
    dest, _serial = store
    retire = {'aside': 'retired', 'reason': 'cessationOfOperation', 'revoke': False}
    result = _run(monkeypatch, capsys, dest, [], args=dict(retire, owner='qa1'))
    assert (result['not_ours'], result['owner'], result['unowned']) == (False, None, True) and result['set_aside_to']
    # An inventory that sets no owner itself: as before, nothing to say.
    write_store_cert(Issuing(), dest, 'app1', ['app1.example.test'], 90, 60)
    result = _run(monkeypatch, capsys, dest, [], args=retire)
    assert (result['not_ours'], result['unowned']) == (False, False) and result['set_aside_to']
