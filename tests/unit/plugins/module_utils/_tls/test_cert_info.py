# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cert_info: facts, due computation and chain verification of files and PEM content.

Every certificate is made here with cryptography: a root, an intermediate under it and
leaves under the intermediate, with the extensions a strict verifier insists on.
"""

import datetime
import ipaddress

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.autotls.acme.plugins.module_utils._tls import cert_info
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy

from testbed.tls import Pki, cert_pem, key_pem

UTC = datetime.timezone.utc
NOW = datetime.datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope='module')
def pki():
    return Pki(now=NOW)


def _inspector(roots=(), **policy):
    return cert_info.Inspector(RenewalPolicy(**policy) if policy else RenewalPolicy(), roots, now=NOW)


def test_a_file_reports_its_facts_and_is_not_due(pki, tmp_path):
    leaf = pki.leaf(names=('a.example.test', 'b.example.test'))
    path = tmp_path / 'fullchain.pem'
    path.write_bytes(pki.fullchain(leaf))
    result = _inspector([pki.root]).inspect_file(str(path))
    assert result['source'] == 'file' and result['path'] == str(path) and result['name'] == str(path)
    assert result['domains'] == ['a.example.test', 'b.example.test']
    assert result['serial'] == '%x' % leaf.serial_number
    assert result['issuer'] == 'Test Intermediate' and result['key_type'] == 'ec256'
    assert result['not_after'] == leaf.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    assert 88.9 < result['days_left'] <= 89.0
    assert 0.98 < result['lifetime_fraction_left'] < 0.99
    assert result['chain_length'] == 2 and result['chain_verified'] is True and result['chain_error'] is None
    assert result['due'] is False and result['due_reason'].startswith('valid until')
    assert result['expired'] is False and result['status'] == 'ok'
    # Not an endpoint: the endpoint-only keys are there, and null.
    assert result['matches_name'] is None and result['reachable'] is None and result['host'] is None


def test_a_missing_file_is_data_not_an_exception(tmp_path):
    result = _inspector().inspect_file(str(tmp_path / 'nope.pem'))
    assert result['status'] == 'missing' and 'No such file' in result['error']
    assert result['not_after'] is None and result['due'] is None


def test_content_that_holds_no_certificate_is_invalid():
    result = _inspector().inspect_pem(key_pem(ec.generate_private_key(ec.SECP256R1())).decode())
    assert result['status'] == 'invalid' and 'no PEM certificate' in result['error']


def test_chain_verifies_only_against_its_own_root(pki):
    leaf = pki.leaf()
    good = _inspector([pki.root]).inspect_pem(pki.fullchain(leaf))
    assert good['chain_verified'] is True and good['status'] == 'ok'

    stranger = Pki('Other')
    bad = _inspector([stranger.root]).inspect_pem(pki.fullchain(leaf))
    assert bad['chain_verified'] is False and bad['chain_error']
    assert bad['status'] == 'chain_invalid'


def test_chain_without_its_intermediate_does_not_verify(pki):
    result = _inspector([pki.root]).inspect_pem(cert_pem(pki.leaf()))
    assert result['chain_length'] == 1 and result['chain_verified'] is False


def test_without_roots_the_chain_is_unverified_never_ok(pki):
    result = _inspector().inspect_pem(pki.fullchain(pki.leaf()))
    assert result['chain_verified'] is None and 'no roots' in result['chain_error']
    assert result['status'] == 'unverified'
    # Even when due, an unverifiable chain is what the status says first.
    old = pki.leaf(start=NOW - datetime.timedelta(days=80), end=NOW + datetime.timedelta(days=10))
    assert _inspector().inspect_pem(pki.fullchain(old))['status'] == 'unverified'
    assert _inspector([pki.root]).inspect_pem(pki.fullchain(old))['status'] == 'due'


def test_system_roots_are_used_when_no_other_root_is_given(pki, tmp_path):
    bundle = tmp_path / 'private-root.pem'
    bundle.write_bytes(cert_pem(pki.root))
    system = cert_info._system_bundle()  # pylint: disable=protected-access
    assert system, 'this machine has a system CA bundle'
    roots, sources = cert_info.load_roots()
    assert sources == [system] and len(roots) > 10
    # A private root given: only it, unless the system bundle is asked for too.
    roots, sources = cert_info.load_roots(str(bundle))
    assert sources == [str(bundle)] and len(roots) == 1
    assert cert_info.load_roots(str(bundle), system_roots=True)[1] == [str(bundle), system]
    assert cert_info.load_roots(system_roots=False) == ([], [])
    # A private CA's chain against the system roots alone does not verify: chain_invalid, not ok.
    result = cert_info.Inspector(RenewalPolicy(), cert_info.load_roots()[0], now=NOW).inspect_pem(
        pki.fullchain(pki.leaf()))
    assert result['chain_verified'] is False and result['status'] == 'chain_invalid'


def test_a_key_that_does_not_belong_to_its_certificate_is_reported(pki, tmp_path):
    good_dir, other_dir = tmp_path / 'good', tmp_path / 'other'
    good_dir.mkdir()
    other_dir.mkdir()
    fullchain, key, leaf = pki.write(str(good_dir), ('a.example.test',))
    other_key = pki.write(str(other_dir), ('a.example.test',))[1]
    inspector = _inspector([pki.root])
    ok = inspector.inspect_file(fullchain, key)
    assert ok['key_matches'] is True and ok['key_error'] is None and ok['status'] == 'ok' and ok['key_path'] == key
    # The key of another run beside this certificate: a new key with an old certificate.
    bad = inspector.inspect_file(fullchain, other_key)
    assert bad['key_matches'] is False and bad['status'] == 'key_mismatch'
    assert 'does not belong to the certificate (serial %x)' % leaf.serial_number in bad['key_error']
    with open(other_key) as handle:
        key_body = handle.read().splitlines()[1]
    assert key_body not in repr(bad)
    missing = inspector.inspect_file(fullchain, str(tmp_path / 'nokey.pem'))
    assert missing['status'] == 'key_mismatch' and 'No such file' in missing['key_error']
    garbage = tmp_path / 'garbage.pem'
    with open(other_key) as handle:
        garbage.write_text(handle.read()[:80])  # a key file cut short: not a key any more
    assert inspector.inspect_file(fullchain, str(garbage))['status'] == 'key_mismatch'
    # Without a key, nothing is said about it.
    assert inspector.inspect_file(fullchain)['key_matches'] is None
    # Through run(): one key per file, in order; '' or None for none.
    results = inspector.run(files=[fullchain, fullchain], private_keys=[None, other_key])
    assert [r['status'] for r in results] == ['ok', 'key_mismatch']
    with pytest.raises(ConfigurationError, match='private_keys has 2 entries but files only 1'):
        inspector.run(files=[fullchain], private_keys=[key, key])


def test_a_wildcard_only_certificate_verifies_for_a_name_it_covers(pki):
    leaf = pki.leaf(names=('*.qa1.example.test',))
    result = _inspector([pki.root]).inspect_pem(pki.fullchain(leaf))
    assert result['chain_verified'] is True, result['chain_error']


def test_due_by_days_by_fraction_and_expired(pki):
    # 90-day certificate with 20 days left: the 30-day rule says due.
    start = NOW - datetime.timedelta(days=70)
    by_days = _inspector([pki.root]).inspect_pem(pki.fullchain(pki.leaf(start=start)))
    assert by_days['due'] is True and by_days['status'] == 'due' and 'due since' in by_days['due_reason']
    # Same certificate, a 10-day rule and a small fraction: not due.
    relaxed = cert_info.Inspector(RenewalPolicy(days=10, fraction=0.1), [pki.root], now=NOW).inspect_pem(pki.fullchain(pki.leaf(start=start)))
    assert relaxed['due'] is False and relaxed['status'] == 'ok'
    # 24-hour certificate 17 hours in: the days rule does not apply, the fraction one does.
    short = pki.leaf(start=NOW - datetime.timedelta(hours=17), end=NOW + datetime.timedelta(hours=7))
    result = _inspector().inspect_pem(pki.fullchain(short))
    assert result['due'] is True and 0.28 < result['lifetime_fraction_left'] < 0.3
    # Expired: status expired even though it is due too, and the verifier says so as well.
    old = pki.leaf(start=NOW - datetime.timedelta(days=100), end=NOW - datetime.timedelta(days=10))
    expired = _inspector([pki.root]).inspect_pem(pki.fullchain(old))
    assert expired['expired'] is True and expired['status'] == 'expired'
    assert expired['days_left'] < 0 and expired['lifetime_fraction_left'] == 0.0
    assert expired['due'] is True and expired['chain_verified'] is False


@pytest.mark.parametrize('name, covered', [
    ('a.qa1.example.test', True),
    ('A.QA1.Example.Test.', True),
    ('qa1.example.test', True),
    ('b.a.qa1.example.test', False),
    ('other.example.test', False),
    ('127.0.0.1', True),
    ('127.0.0.2', False),
])
def test_name_coverage_is_wildcard_aware(name, covered):
    ips = [ipaddress.ip_address('127.0.0.1')]
    assert cert_info.name_covered(name, ['*.qa1.example.test', 'qa1.example.test'], ips) is covered


def test_roots_from_bundle_and_text_and_bad_inputs(pki, tmp_path):
    bundle = tmp_path / 'roots.pem'
    bundle.write_bytes(cert_pem(pki.root))
    roots, sources = cert_info.load_roots(str(bundle), cert_pem(Pki('Second').root).decode())
    assert len(roots) == 2 and sources == [str(bundle), 'root_pem']
    with pytest.raises(ConfigurationError, match='Could not read ca_bundle'):
        cert_info.load_roots(str(tmp_path / 'absent.pem'))
    with pytest.raises(ConfigurationError, match='root_pem holds no PEM certificate'):
        cert_info.load_roots(root_pem='not a certificate')


def test_run_orders_results_and_summary_counts_each_once(pki, tmp_path):
    good = tmp_path / 'good.pem'
    good.write_bytes(pki.fullchain(pki.leaf()))
    old = pki.leaf(start=NOW - datetime.timedelta(days=100), end=NOW - datetime.timedelta(days=1))
    results = _inspector([pki.root]).run(
        files=[str(good), str(tmp_path / 'gone.pem')],
        contents=[pki.fullchain(old).decode()])
    assert [r['status'] for r in results] == ['ok', 'missing', 'expired']
    assert results[2]['name'] == 'content[0]'
    summary = cert_info.summarize(results)
    assert summary['total'] == 3 and summary['ok'] == 1 and summary['missing'] == 1
    assert summary['expired'] == 1 and summary['due'] == 0 and summary['unreachable'] == 0


def test_endpoint_results_come_from_the_fetcher_in_order(pki):
    """The endpoint path without a network: a fetcher that answers from memory."""
    leaf = pki.leaf(names=('*.qa1.example.test',))

    def fetch(host, port, server_name, timeout, backend):
        if port == 1:
            raise cert_info.EndpointError('%s:%d: refused' % (host, port))
        return [leaf, pki.inter]

    inspector = cert_info.Inspector(RenewalPolicy(), [pki.root], now=NOW, fetch=fetch, concurrency=2)
    results = inspector.inspect_endpoints([
        {'host': '10.0.0.1', 'server_name': 'www.qa1.example.test'},
        {'host': '10.0.0.2', 'port': 1, 'name': 'dead'},
        {'host': '10.0.0.3', 'server_name': 'www.elsewhere.test'},
    ])
    assert [r['status'] for r in results] == ['ok', 'unreachable', 'name_mismatch']
    assert results[0]['name'] == 'www.qa1.example.test@10.0.0.1:443' and results[0]['matches_name'] is True
    assert results[1]['name'] == 'dead' and results[1]['reachable'] is False and 'refused' in results[1]['error']
    assert results[2]['matches_name'] is False and results[2]['chain_verified'] is False


@pytest.mark.parametrize('kwargs, message', [
    (dict(timeout=0), 'timeout must be more than 0 and at most 600 seconds, got 0'),
    (dict(timeout=-1.5), 'timeout must be more than 0 and at most 600 seconds, got -1.5'),
    (dict(timeout=3600), 'timeout must be more than 0 and at most 600 seconds, got 3600'),
    (dict(concurrency=0), 'concurrency must be between 1 and 1000, got 0'),
    (dict(concurrency=100000), 'concurrency must be between 1 and 1000, got 100000'),
])
def test_bad_timeout_or_concurrency_is_a_configuration_error(kwargs, message):
    with pytest.raises(ConfigurationError) as info:
        cert_info.Inspector(RenewalPolicy(), **kwargs)
    assert info.value.msg.startswith(message)


@pytest.mark.parametrize('port', [0, 65536, -443])
def test_an_endpoint_port_out_of_range_names_the_endpoint(port):
    with pytest.raises(ConfigurationError, match=r'endpoints\[1\]\.port must be between 1 and 65535, got %d' % port):
        _inspector().run(endpoints=[{'host': 'a', 'port': 443}, {'host': 'b', 'port': port}])
