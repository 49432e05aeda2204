# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The issuance orchestration, order step then finishing step, against an in-process CA.

The two steps run with separate sessions and separate Issuer objects, as two module
runs do, and the decisions pass between them as JSON, as they do through Ansible.
"""

import datetime
import json
import os
import threading
import time

import pytest
from testbed.fake_ca import FakeDnsSolver, FakeSession, now, write_store_cert


from ansible_collections.autotls.acme.plugins.module_utils._acme import issuer as issuer_module
from ansible_collections.autotls.acme.plugins.module_utils._acme.ari import ari_cert_id
from ansible_collections.autotls.acme.plugins.module_utils._acme.issuer import (
    CertificateSpec,
    Issuer,
    PlacedTokens,
    http01_tokens,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy, forced_names
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import CertificateFiles
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import key_matches_certificate

DAY = datetime.timedelta(days=1)


def _specs(force=()):
    names = {
        'ari': ['ari.example.test'],
        'days': ['days.example.test'],
        'fraction': ['fraction.example.test'],
        'forced': ['forced.example.test'],
        'quiet': ['quiet.example.test'],
        'mismatch': ['mismatch.example.test'],
        'new': ['*.new.example.test', 'new.example.test'],
        'refused': ['refused.example.test'],
        'invalid': ['invalid.example.test'],
        'web': ['web.example.test'],
    }
    specs = []
    for name, domains in names.items():
        challenge = 'http-01' if name == 'web' else 'dns-01'
        specs.append(CertificateSpec(name, domains, challenge=challenge, force=name in force,
                                     hosts=['app1', 'app2'] if name == 'web' else []))
    return specs


@pytest.fixture
def store(tmp_path, fake_ca):
    """The store before the night: what each certificate's files say."""
    dest = str(tmp_path / 'certs')
    certs = {
        # 60 of 90 days left, but the CA's window has started: only ARI makes it due.
        'ari': write_store_cert(fake_ca.issuing, dest, 'ari', ['ari.example.test'], 90, 60),
        # 20 of 90 days left: the days rule (30) decides, the fraction rule (0.1) not yet.
        'days': write_store_cert(fake_ca.issuing, dest, 'days', ['days.example.test'], 90, 20),
        # 10-day certificate with half a day left: days rule does not apply, fraction does.
        'fraction': write_store_cert(fake_ca.issuing, dest, 'fraction', ['fraction.example.test'], 10, 0.5),
        'forced': write_store_cert(fake_ca.issuing, dest, 'forced', ['forced.example.test'], 90, 89),
        'quiet': write_store_cert(fake_ca.issuing, dest, 'quiet', ['quiet.example.test'], 90, 89),
        # A key that is not the certificate's (a half-written set, a hand edit).
        'mismatch': write_store_cert(fake_ca.issuing, dest, 'mismatch', ['mismatch.example.test'], 90, 89,
                                     other_key=True),
        'invalid': write_store_cert(fake_ca.issuing, dest, 'invalid', ['invalid.example.test'], 90, 10),
    }
    fake_ca.set_ari_window(certs['ari'], now() - 2 * DAY, now() - DAY)
    fake_ca.set_ari_window(certs['quiet'], now() + 40 * DAY, now() + 45 * DAY)
    fake_ca.refuse.add('refused.example.test')
    fake_ca.fail_validation.add('invalid.example.test')
    return dest, certs


POLICY = RenewalPolicy(days=30, fraction=0.1, ari=True)


def _order_step(fake_ca, dest, force=()):
    session = FakeSession(fake_ca)
    issuer = Issuer(session, {}, POLICY, dest, workers=4, timeout=60)
    outcomes = issuer.plan(_specs(force))
    issuer.consult_ari(outcomes)
    decisions = issuer.order(outcomes)
    tokens = http01_tokens(outcomes, decisions)
    # Through Ansible the decisions are JSON: they must survive it, and hold no key.
    text = json.dumps(decisions)
    assert 'PRIVATE KEY' not in text
    return {o.spec.name: o for o in outcomes}, json.loads(text), tokens


def test_order_then_finish_carries_each_decision_through(fake_ca, store):
    dest, certs = store
    planned, decisions, tokens = _order_step(fake_ca, dest, force=('forced',))

    assert {n: o.action for n, o in planned.items()} == {
        'ari': 'renew', 'days': 'renew', 'fraction': 'renew', 'forced': 'renew', 'quiet': 'none',
        'mismatch': 'renew', 'new': 'issue', 'refused': 'issue', 'invalid': 'renew', 'web': 'issue'}
    assert 'renewal window (ARI)' in planned['ari'].reason
    assert planned['days'].reason.startswith('due since') and planned['fraction'].reason.startswith('due since')
    assert planned['forced'].reason == 'renewal forced'
    assert 'private key in the store does not belong' in planned['mismatch'].reason
    assert planned['quiet'].facts['ari_renewal_time'] > now().strftime('%Y-%m-%dT%H:%M:%SZ')
    # The CA refused one order: failed in the order step, the others unaffected.
    assert planned['refused'].error is not None and 'refused.example.test' in str(planned['refused'].error)

    by_name = {d['name']: d for d in decisions}
    assert set(by_name) == {'ari', 'days', 'fraction', 'forced', 'mismatch', 'new', 'invalid', 'web'}
    assert by_name['ari']['replaces'] == ari_cert_id(certs['ari'])
    assert fake_ca.replaces_of(by_name['ari']['url']) == ari_cert_id(certs['ari'])
    assert 'replaces' not in by_name['new']
    assert by_name['web']['challenge_type'] == 'http-01'
    # One entry per token and host that serves the name, nothing for dns-01.
    assert sorted((t['host'], t['certificate']) for t in tokens) == [('app1', 'web'), ('app2', 'web')]
    assert all(t['path'] == '.well-known/acme-challenge/' + t['token'] for t in tokens)

    # The finishing step: another session, and a policy under which nothing would be due
    # and ARI is off. It must not matter: it finishes what the order step decided.
    lookups = fake_ca.account_lookups
    session = FakeSession(fake_ca)
    dns = FakeDnsSolver()
    issuer = Issuer(session, {'dns-01': dns, 'http-01': PlacedTokens()},
                    RenewalPolicy(days=0, fraction=0, ari=False), dest, workers=4, timeout=60, owner='qa1')
    finished = {o.spec.name: o for o in issuer.resume(_specs(), decisions)}

    assert set(finished) == set(by_name)
    assert fake_ca.account_lookups == lookups       # the account travelled with the orders
    assert sorted(fake_ca.order_reads) == sorted(d['url'] for d in decisions)   # read back by URL
    assert dns.cleaned
    for name in ('ari', 'days', 'fraction', 'forced', 'mismatch', 'new', 'web'):
        outcome = finished[name]
        assert outcome.error is None, outcome.error
        assert outcome.action == planned[name].action and outcome.reason == planned[name].reason
        files = CertificateFiles(os.path.join(dest, name))
        cert = files.read_certificate()
        assert key_matches_certificate(files.read_key_pem(), cert)
        assert files.read_issuer()['owner'] == 'qa1'       # the inventory's autotls_store_owner, for retirement
        if name in certs:
            assert cert.serial_number != certs[name].serial_number
    assert finished['ari'].as_result()['replaces'] == ari_cert_id(certs['ari'])
    assert finished['ari'].as_result()['action'] == 'renew'

    failed = finished['invalid'].as_result()
    assert failed['failed'] and 'invalid.example.test' in failed['msg'] and 'no TXT record' in failed['msg']
    assert CertificateFiles(os.path.join(dest, 'invalid')).read_certificate().serial_number == \
        certs['invalid'].serial_number                     # a failure leaves the old set in place
    assert CertificateFiles(os.path.join(dest, 'quiet')).read_certificate().serial_number == \
        certs['quiet'].serial_number


def test_finish_without_orders_for_a_name_refuses_it(fake_ca, store):
    dest, _certs = store
    issuer = Issuer(FakeSession(fake_ca), {}, POLICY, dest)
    with pytest.raises(ConfigurationError) as err:
        issuer.resume(_specs()[:2], [{'name': 'elsewhere', 'url': 'https://ca.test/order/9'}])
    assert "'elsewhere'" in str(err.value)


def test_an_order_whose_names_changed_since_is_failed_not_finished(fake_ca, store):
    dest, _certs = store
    _planned, decisions, _tokens = _order_step(fake_ca, dest)
    specs = _specs()
    specs[1] = CertificateSpec('days', ['days.example.test', 'more.example.test'])
    issuer = Issuer(FakeSession(fake_ca), {'dns-01': FakeDnsSolver(), 'http-01': PlacedTokens()}, POLICY, dest)
    finished = {o.spec.name: o for o in issuer.resume(specs, decisions)}
    assert 'now declares' in str(finished['days'].error)
    assert finished['ari'].error is None


def test_each_certificate_deadline_starts_when_a_worker_takes_it_up(fake_ca, tmp_path):
    dest = str(tmp_path / 'certs')
    specs = [CertificateSpec('c%d' % i, ['c%d.example.test' % i]) for i in range(4)]
    dns = FakeDnsSolver()
    timeout = 1000
    issuer = Issuer(FakeSession(fake_ca), {'dns-01': dns}, POLICY, dest, workers=1, timeout=timeout)
    outcomes = issuer.run(issuer.plan(specs))
    assert all(o.error is None for o in outcomes)
    starts = sorted(deadline.expires_at - timeout for _domain, deadline, _when in fake_ca.answered)
    # Not before the shared DNS wait was over...
    assert starts[0] >= dns.done_at
    # ...and, with one worker, each only after the one before it was issued.
    finished = sorted(when for _url, when in fake_ca.finalized)
    for start, previous in zip(starts[1:], finished):
        assert start >= previous


def test_forced_names_from_the_command_line_and_inventory():
    names = ['app1', 'app2', 'web']
    assert forced_names(True, names) == set(names)
    assert forced_names('true', names) == set(names)
    assert forced_names('yes', names) == set(names)
    assert forced_names(False, names) == set()
    assert forced_names('false', names) == set()
    assert forced_names(['app1'], names) == {'app1'}
    assert forced_names('app1, web', names) == {'app1', 'web'}
    with pytest.raises(ConfigurationError) as err:
        forced_names(['app3'], names)
    assert 'app3' in str(err.value) and 'app1, app2, web' in str(err.value)
    with pytest.raises(ConfigurationError):
        forced_names({'app1': True}, names)


def test_fraction_one_renews_on_every_run():
    policy = RenewalPolicy(days=0, fraction=1.0)
    start = now() - datetime.timedelta(minutes=1)
    assert policy.decide(start, start + 90 * DAY, now())[0]
    with pytest.raises(ConfigurationError) as err:
        RenewalPolicy(fraction=1.5)
    assert 'from 0 to 1' in str(err.value) and '1.5' in str(err.value)


class PreparingDnsSolver(FakeDnsSolver):
    """Looks names up from the specs, and notes whether the CA was taking orders meanwhile."""

    def __init__(self, fake_ca):
        super().__init__()
        self.fake_ca = fake_ca
        self.prepared = []
        self.saw_orders_while_preparing = False
        self.prepared_before_present = None

    def prepare(self, specs):
        self.prepared.extend(spec.name for spec in specs)
        # Only an Issuer that creates orders while this runs lets this see one.
        for _attempt in range(3000):
            if self.fake_ca.orders:
                self.saw_orders_while_preparing = True
                break
            time.sleep(0.01)

    def present(self, items):
        self.prepared_before_present = bool(self.prepared)
        return super().present(items)


def test_dns_names_are_looked_up_while_the_orders_are_created(fake_ca, tmp_path):
    dest = str(tmp_path / 'certs')
    specs = [CertificateSpec('c%d' % i, ['*.c%d.example.test' % i, 'c%d.example.test' % i]) for i in range(3)]
    specs.append(CertificateSpec('web', ['web.example.test'], challenge='http-01', hosts=['app1']))
    dns = PreparingDnsSolver(fake_ca)
    issuer = Issuer(FakeSession(fake_ca), {'dns-01': dns, 'http-01': PlacedTokens()}, POLICY, dest,
                    workers=2, timeout=60)
    outcomes = issuer.run(issuer.plan(specs))
    assert sorted(dns.prepared) == ['c0', 'c1', 'c2']      # the dns-01 certificates only
    assert dns.saw_orders_while_preparing
    assert dns.prepared_before_present
    assert all(o.error is None for o in outcomes if o.spec.challenge == 'dns-01')


def test_challenges_are_removed_once_every_authorization_is_settled_not_after_the_last_issue(
        fake_ca, tmp_path, monkeypatch):
    dest = str(tmp_path / 'certs')
    specs = [CertificateSpec('c%d' % i, ['c%d.example.test' % i]) for i in range(4)]
    specs.append(CertificateSpec('bad', ['invalid.example.test']))
    fake_ca.fail_validation.add('invalid.example.test')
    cleaned = threading.Event()
    seen = []

    class Solver(FakeDnsSolver):
        def cleanup(self):
            super().cleanup()
            cleaned.set()

    real_make_csr = issuer_module.make_csr

    def make_csr(key, domains):
        # Each certificate waits here, before it is issued, for the challenges to be gone:
        # only a cleanup that starts before the last certificate is issued lets it through.
        seen.append(cleaned.wait(10))
        return real_make_csr(key, domains)

    monkeypatch.setattr(issuer_module, 'make_csr', make_csr)
    dns = Solver()
    issuer = Issuer(FakeSession(fake_ca), {'dns-01': dns}, POLICY, dest, workers=5, timeout=60)
    outcomes = {o.spec.name: o for o in issuer.run(issuer.plan(specs))}
    assert outcomes['bad'].error is not None
    assert all(outcomes['c%d' % i].error is None for i in range(4))
    assert seen == [True] * 4
    assert dns.cleaned


def test_an_interrupt_while_waiting_for_the_early_cleanup_lets_it_finish_first():
    """SIGTERM (raised as KeyboardInterrupt in the main thread) during the wait for the
    cleanup already under way: it ends before the interrupt goes on, never beside a second one."""
    release, finished = threading.Event(), threading.Event()

    class SlowSolver:
        def cleanup(self):
            release.wait(60)
            finished.set()

    cleanup = issuer_module._Cleanup({'dns-01': SlowSolver()}, issuer_module.NoTimings())
    cleanup.start()
    thread = cleanup._thread
    real_join = thread.join
    calls = []

    def join_interrupted_once(timeout=None):
        calls.append(timeout)
        if len(calls) == 1:
            release.set()
            raise KeyboardInterrupt()
        return real_join(timeout)

    thread.join = join_interrupted_once
    with pytest.raises(KeyboardInterrupt):
        cleanup.finish()
    assert finished.is_set()
    assert len(calls) >= 2
