# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which issuer issued a stored certificate: recorded by the store, found by trust, else the first;
and the renewal information (ARI) asked of that issuer only."""

import datetime
import json
import os

import pytest

from testbed.fake_ca import FakeCA, FakeDnsSolver, FakeSession, Issuing, now, write_store_cert

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import IssuerChain, IssuerState
from ansible_collections.autotls.acme.plugins.module_utils._acme.issued_by import (
    FIRST,
    RECORDED,
    TRUST,
    IssuedBy,
    signed_under,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.issuer import CertificateSpec, Issuer
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy
from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import CertificateFiles

DAY = datetime.timedelta(days=1)
ISSUERS = [{'name': 'letsencrypt', 'directory': 'https://le.test/dir'},
           {'name': 'zerossl', 'directory': 'https://zerossl.test/dir'}]


def _files(dest, name):
    return CertificateFiles(os.path.join(dest, name))


def test_the_issuer_recorded_with_the_set_is_found_by_name_then_by_directory(tmp_path):
    dest = str(tmp_path)
    write_store_cert(Issuing(), dest, 'app1', ['app1.example.test'], 90, 60)
    files = _files(dest, 'app1')
    assert files.read_issuer() is None
    with open(files.path('issuer.json'), 'w', encoding='utf-8') as handle:
        json.dump({'issuer': 'zerossl', 'directory': 'https://zerossl.test/dir'}, handle)
    assert IssuedBy(ISSUERS).find(files) == (ISSUERS[1], RECORDED)
    # Renamed in the inventory since: the directory still tells.
    renamed = [ISSUERS[0], dict(ISSUERS[1], name='zero')]
    assert IssuedBy(renamed).find(files) == (renamed[1], RECORDED)
    # Neither name nor directory among the issuers any more: the first.
    assert IssuedBy([ISSUERS[0]]).find(files) == (ISSUERS[0], FIRST)


def test_the_recorded_directory_wins_over_a_name_that_now_stands_for_another_ca(tmp_path):
    dest = str(tmp_path)
    write_store_cert(Issuing(), dest, 'app1', ['app1.example.test'], 90, 60)
    files = _files(dest, 'app1')
    with open(files.path('issuer.json'), 'w', encoding='utf-8') as handle:
        json.dump({'issuer': 'zerossl', 'directory': 'https://zerossl.test/dir'}, handle)
    # "zerossl" now names another CA; the one that issued it is there under another name.
    swapped = [{'name': 'zerossl', 'directory': 'https://other.test/dir'},
               {'name': 'old-zerossl', 'directory': 'https://zerossl.test/dir'}]
    assert IssuedBy(swapped).find(files) == (swapped[1], RECORDED)
    # No issuer at the recorded directory: refused, naming both directories.
    with pytest.raises(AutoTLSError) as info:
        IssuedBy([swapped[0]]).find(files)
    assert 'https://zerossl.test/dir' in info.value.msg and 'https://other.test/dir' in info.value.msg, info.value.msg


def test_an_unreadable_record_counts_as_none(tmp_path):
    dest = str(tmp_path)
    write_store_cert(Issuing(), dest, 'app1', ['app1.example.test'], 90, 60)
    files = _files(dest, 'app1')
    for text in ('not json', '["zerossl"]', '{"issuer": 3}'):
        with open(files.path('issuer.json'), 'w', encoding='utf-8') as handle:
            handle.write(text)
        assert files.read_issuer() is None and IssuedBy(ISSUERS).find(files) == (ISSUERS[0], FIRST)


def test_without_a_record_the_issuer_whose_trust_signed_it_is_found(tmp_path):
    dest = str(tmp_path)
    le, zerossl = Issuing(), Issuing()           # same subject name, other keys
    cert = write_store_cert(zerossl, dest, 'app1', ['app1.example.test'], 90, 60)
    bundles = {}
    for name, issuing in (('letsencrypt', le), ('zerossl', zerossl)):
        bundles[name] = str(tmp_path / ('%s.pem' % name))
        with open(bundles[name], 'wb') as handle:
            handle.write(issuing.pem)
    issuers = [dict(i, ca_bundle=bundles[i['name']]) for i in ISSUERS]
    assert IssuedBy(issuers).find(_files(dest, 'app1')) == (issuers[1], TRUST)
    # The signature decides, not the name alone.
    from cryptography import x509
    le_root = x509.load_pem_x509_certificate(le.pem)
    assert le_root.subject == cert.issuer and not signed_under(cert, le_root)
    # No bundle holds its CA: the first issuer.
    issuers = [dict(ISSUERS[0], ca_bundle=bundles['letsencrypt']), dict(ISSUERS[1], ca_bundle=str(tmp_path / 'gone.pem'))]
    assert IssuedBy(issuers).find(_files(dest, 'app1')) == (issuers[0], FIRST)


def test_the_certificate_module_records_the_issuer_with_the_set(tmp_path):
    dest = str(tmp_path)
    first, second = FakeCA(), FakeCA()
    first.new_order_error = _rate_limited()
    chain = _chain({'letsencrypt': first, 'zerossl': second}, dest)
    [outcome] = chain.run(chain.plan([CertificateSpec('app1', ['app1.example.test'])]))
    assert outcome.error is None and outcome.acme_issuer == 'zerossl'
    files = _files(dest, 'app1')
    assert files.read_issuer() == {'issuer': 'zerossl', 'directory': FakeSession.directory_url}
    # (The fake CAs all answer at FakeSession.directory_url.)
    configs = [ISSUERS[0], dict(ISSUERS[1], directory=FakeSession.directory_url)]
    assert IssuedBy(configs).find(files) == (configs[1], RECORDED)
    # Only the four files are deployed: the record stays in the store.
    assert sorted(outcome.as_result()['files']) == ['cert', 'chain', 'fullchain', 'privkey']


def _rate_limited():
    from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeProtocolError
    return AcmeProtocolError('rate limited', problem={'type': 'urn:ietf:params:acme:error:rateLimited'}, status=429)


def _chain(cas, dest):
    state = IssuerState()
    policy = RenewalPolicy(days=30, fraction=0.1, ari=True)

    def make(config):
        return Issuer(FakeSession(cas[config['name']]), {'dns-01': FakeDnsSolver()}, policy, dest, workers=2,
                      timeout=30, name=config['name'], state=state)

    configs = [i for i in ISSUERS if i['name'] in cas]
    return IssuerChain(configs, make, state)


def _record(dest, name, issuer):
    with open(os.path.join(dest, name, 'issuer.json'), 'w', encoding='utf-8') as handle:
        json.dump({'issuer': issuer}, handle)


def test_renewal_information_is_asked_of_the_issuer_that_issued_each_certificate(tmp_path):
    dest = str(tmp_path)
    first, second = FakeCA(), FakeCA()
    home = write_store_cert(first.issuing, dest, 'home', ['home.example.test'], 90, 60)
    moved = write_store_cert(second.issuing, dest, 'moved', ['moved.example.test'], 90, 60)
    unknown = write_store_cert(first.issuing, dest, 'unknown', ['unknown.example.test'], 90, 60)
    _record(dest, 'home', 'letsencrypt')
    _record(dest, 'moved', 'zerossl')
    # The second CA moves the window of "moved" into the past: renew it now.
    second.set_ari_window(moved, now() - 2 * DAY, now() - DAY)
    first.set_ari_window(home, now() + 20 * DAY, now() + 21 * DAY)
    chain = _chain({'letsencrypt': first, 'zerossl': second}, dest)
    outcomes = chain.plan([CertificateSpec(n, ['%s.example.test' % n]) for n in ('home', 'moved', 'unknown')])
    chain.consult_ari(outcomes)
    due = {o.spec.name: o.due for o in outcomes}
    assert due == {'home': False, 'moved': True, 'unknown': False}
    from ansible_collections.autotls.acme.plugins.module_utils._acme.ari import ari_cert_id
    # Each CA was asked about its own certificates only; no record: the first issuer.
    assert sorted(second.ari_asked) == [ari_cert_id(moved)]
    assert sorted(first.ari_asked) == sorted([ari_cert_id(home), ari_cert_id(unknown)])

    # Renewed at the first issuer (the chain starts there), without "replaces": the
    # certificate is the second CA's, even though the second CA's ARI spoke about it.
    chain.run(outcomes)
    result = {o.spec.name: o.as_result() for o in outcomes}['moved']
    assert result['acme_issuer'] == 'letsencrypt' and 'replaces' not in result
    assert _files(dest, 'moved').read_issuer()['issuer'] == 'letsencrypt'


def test_an_issuer_that_takes_no_orders_this_run_is_not_asked(tmp_path):
    dest = str(tmp_path)
    first, second = FakeCA(), FakeCA()
    write_store_cert(second.issuing, dest, 'moved', ['moved.example.test'], 90, 60)
    _record(dest, 'moved', 'zerossl')
    chain = _chain({'letsencrypt': first, 'zerossl': second}, dest)
    from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import RATE_LIMITED, Verdict
    chain.state.block('zerossl', Verdict(RATE_LIMITED, 'rate limited'))
    outcomes = chain.plan([CertificateSpec('moved', ['moved.example.test'])])
    chain.consult_ari(outcomes)
    assert second.ari_asked == [] and first.ari_asked == [] and not outcomes[0].due


def test_a_record_whose_issuer_name_now_stands_for_another_ca_skips_ari_without_failing(tmp_path):
    """The inventory re-pointed "zerossl" at another directory: the certificate still renews by days."""
    dest = str(tmp_path)
    first, second = FakeCA(), FakeCA()
    write_store_cert(second.issuing, dest, 'moved', ['moved.example.test'], 90, 60)
    with open(os.path.join(dest, 'moved', 'issuer.json'), 'w', encoding='utf-8') as handle:
        json.dump({'issuer': 'zerossl', 'directory': 'https://old-ca.example.test/directory'}, handle)
    chain = _chain({'letsencrypt': first, 'zerossl': second}, dest)
    outcomes = chain.plan([CertificateSpec('moved', ['moved.example.test'])])
    chain.consult_ari(outcomes)
    outcome = outcomes[0]
    assert outcome.error is None and not outcome.due
    assert second.ari_asked == [] and first.ari_asked == []
    assert any('renewal information (ARI) not asked' in w and 'old-ca.example.test' in w for w in outcome.warnings)
