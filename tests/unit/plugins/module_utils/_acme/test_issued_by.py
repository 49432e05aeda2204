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


# -- one root trusted by several issuers ------------------------------------------------
# Two step-ca provisioners (or two directories of one CA) under one root: each issuer's
# trust holds the same root, so the signer alone cannot tell which of them issued a set
# the store holds no record of.

def _ca(name, signer=None):
    """A CA certificate and its key: a root (``signer`` None) or an intermediate signed by ``signer``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = signer if signer is not None else (None, key)
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now() - DAY).not_valid_after(now() + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))
    return cert, key


def _pem(cert):
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_pem(path, *certs):
    with open(path, 'wb') as handle:
        handle.write(b''.join(_pem(c) for c in certs))
    return str(path)


def _store_leaf(dest, name, intermediate):
    """app's set in ``dest/name``, signed by ``intermediate`` (cert, key); chain.pem holds the intermediate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    domain = '%s.example.test' % name
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
            .issuer_name(intermediate[0].subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now() - DAY).not_valid_after(now() + 60 * DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(intermediate[1].public_key()),
                           critical=False)
            .sign(intermediate[1], hashes.SHA256()))
    directory = os.path.join(dest, name)
    os.makedirs(directory)
    files = {'cert.pem': _pem(leaf), 'chain.pem': _pem(intermediate[0]),
             'fullchain.pem': _pem(leaf) + _pem(intermediate[0]),
             'privkey.pem': key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())}
    for filename, data in files.items():
        with open(os.path.join(directory, filename), 'wb') as handle:
            handle.write(data)
    return leaf


@pytest.fixture
def shared_root(tmp_path):
    """Issuers ``acme`` and ``acme-eab`` (one step-ca, one root) and ``other`` (a root of its own); app1 is the CA's."""
    root = _ca('Shared Root CA')
    intermediate = _ca('Shared Intermediate CA', signer=root)
    other = _ca('Other Root CA')
    shared_bundle = _write_pem(tmp_path / 'ca-root.pem', root[0])
    issuers = [{'name': 'other', 'directory': 'https://other.test/dir',
                'ca_bundle': _write_pem(tmp_path / 'ca-root-other.pem', other[0])},
               {'name': 'acme', 'directory': 'https://ca.test/acme/acme/directory', 'ca_bundle': shared_bundle},
               {'name': 'acme-eab', 'directory': 'https://ca.test/acme/eab/directory',
                'ca_bundle': _write_pem(tmp_path / 'ca-root-acme-eab.pem', root[0])}]
    dest = str(tmp_path / 'certs')
    _store_leaf(dest, 'app1', intermediate)
    return issuers, dest


def test_one_root_trusted_by_two_issuers_tells_no_issuer(shared_root):
    from ansible_collections.autotls.acme.plugins.module_utils._acme.issued_by import AmbiguousIssuer
    issuers, dest = shared_root
    files = _files(dest, 'app1')
    issued_by = IssuedBy(issuers)
    assert [i['name'] for i in issued_by.trusted_by(files)] == ['acme', 'acme-eab']
    assert issued_by.by_trust(files) is None
    with pytest.raises(AmbiguousIssuer) as info:
        issued_by.find(files)
    # Neither the first issuer (whose root did not sign it) nor the first of the two.
    assert info.value.candidates == ['acme', 'acme-eab']
    assert info.value.details == {'candidate_issuers': ['acme', 'acme-eab']}
    for text in ('acme, acme-eab', 'https://ca.test/acme/acme/directory', 'https://ca.test/acme/eab/directory',
                 files.directory):
        assert text in info.value.msg, info.value.msg
    assert 'other' not in info.value.msg.replace(files.directory, '')
    # One of the two alone: its trust tells.
    assert IssuedBy([issuers[0], issuers[2]]).find(files) == (issuers[2], TRUST)


def test_a_record_or_a_given_name_settles_a_shared_root(shared_root):
    issuers, dest = shared_root
    files = _files(dest, 'app1')
    assert IssuedBy(issuers).find(files, given='acme-eab') == (issuers[2], 'given')
    # Unknown names are refused, naming the issuers.
    with pytest.raises(AutoTLSError) as info:
        IssuedBy(issuers).find(files, given='acme-typo')
    assert "'acme-typo'" in info.value.msg and 'other, acme, acme-eab' in info.value.msg, info.value.msg
    _record(dest, 'app1', 'acme')
    assert IssuedBy(issuers).find(files) == (issuers[1], RECORDED)
    assert IssuedBy(issuers).find(files, given='acme') == (issuers[1], 'given')
    # A name the record contradicts is refused, naming the recorded one.
    with pytest.raises(AutoTLSError) as info:
        IssuedBy(issuers).find(files, given='acme-eab')
    assert 'issued by acme' in info.value.msg and 'Give issuer acme' in info.value.msg, info.value.msg


def test_renewal_information_is_not_asked_when_a_shared_root_cannot_tell(shared_root):
    issuers, dest = shared_root
    cas = {'acme': FakeCA(), 'acme-eab': FakeCA()}
    state = IssuerState()
    policy = RenewalPolicy(days=30, fraction=0.1, ari=True)

    def make(config):
        return Issuer(FakeSession(cas[config['name']]), {'dns-01': FakeDnsSolver()}, policy, dest, workers=2,
                      timeout=30, name=config['name'], state=state)

    chain = IssuerChain(issuers[1:], make, state)
    outcomes = chain.plan([CertificateSpec('app1', ['app1.example.test'])])
    assert not outcomes[0].due and outcomes[0].current is not None
    chain.consult_ari(outcomes)
    assert cas['acme'].ari_asked == [] and cas['acme-eab'].ari_asked == []
    assert outcomes[0].error is None and not outcomes[0].due
    [warning] = [w for w in outcomes[0].warnings if 'ARI' in w]
    assert 'not asked' in warning and 'acme, acme-eab' in warning and 'next issuance records' in warning, warning
