# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a lifetime fits the run interval, and what the advice says."""

import datetime

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy
from ansible_collections.autotls.acme.plugins.module_utils._acme.schedule import (
    check_run_interval,
    schedule_fit,
    schedule_of_facts,
    stepca_provisioner,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

START = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)
STEPCA = 'https://ca.internal:9443/acme/acme/directory'


def test_a_24_hour_certificate_does_not_fit_a_nightly_run():
    fit = schedule_fit(RenewalPolicy(), START, START + 24 * HOUR, 24, STEPCA, name='app1')
    assert fit['lifetime_hours'] == 24 and fit['window_hours'] == pytest.approx(7.92)
    assert fit['renew_after_hours'] == pytest.approx(16.08)
    assert fit['changes'][0].startswith('run at least every 7.9 h')
    # 24 h / 0.33 = 72.7 h: step-ca's provisioner setting is named.
    assert "certificates of at least 73 h (for step-ca, the ACME provisioner acme's claims.defaultTLSCertDuration" \
        in fit['changes'][1]
    assert len(fit['changes']) == 2        # a fraction of 1 or more cannot help
    assert fit['advice'].startswith('Certificate app1 lives 24 h and is due 16.1 h after issuance')


def test_the_same_certificate_fits_runs_every_six_hours_and_long_lifetimes_fit_nightly_runs():
    assert schedule_fit(RenewalPolicy(), START, START + 24 * HOUR, 6) is None
    assert schedule_fit(RenewalPolicy(), START, START + 90 * 24 * HOUR, 24) is None
    # Let's Encrypt's 6-day profile: window of 2 days, nightly fits; weekly does not.
    six_days = schedule_fit(RenewalPolicy(), START, START + 144 * HOUR, 168, 'https://acme-v02.example/directory')
    assert "the CA's default lifetime or the profile you order" in six_days['advice']
    assert 'renew earlier: an autotls_renew_before fraction of at least' not in six_days['advice']


def test_renewing_earlier_is_offered_when_a_fraction_under_one_would_do():
    fit = schedule_fit(RenewalPolicy(days=30, fraction=0.1), START, START + 120 * HOUR, 24)
    assert fit['window_hours'] == 12
    assert fit['changes'][-1] == 'renew earlier: an autotls_renew_before fraction of at least 0.20'


def test_the_days_rule_widens_the_window():
    # 10 days, due 4 days before expiry (4 < half of 10): a nightly run fits.
    assert schedule_fit(RenewalPolicy(days=4, fraction=0.1), START, START + 240 * HOUR, 24) is None


@pytest.mark.parametrize('value', [0, -1, 'nightly', None, True, float('nan'), 24 * 367])
def test_a_bad_interval_is_refused_naming_it(value):
    with pytest.raises(ConfigurationError, match='autotls_run_interval must be the hours between two scheduled'):
        check_run_interval(value, 'autotls_run_interval')


def test_an_interval_from_the_command_line_is_a_string():
    assert check_run_interval('12') == 12.0 and check_run_interval(0.5) == 0.5


def test_stepca_is_known_by_its_directory_url():
    assert stepca_provisioner(STEPCA) == 'acme'
    assert stepca_provisioner('https://ca:9000/acme/web-prov/directory') == 'web-prov'
    assert stepca_provisioner('https://acme-v02.api.letsencrypt.org/directory') is None
    assert stepca_provisioner(None) is None


def test_facts_as_modules_return_them():
    facts = {'not_before': '2026-12-01T00:00:00Z', 'not_after': '2026-12-02T00:00:00Z'}
    assert schedule_of_facts(RenewalPolicy(), facts, 24)['window_hours'] == pytest.approx(7.92)
    assert schedule_of_facts(RenewalPolicy(), {'name': 'failed-before-issuance'}, 24) is None


def test_a_certificate_keeps_its_profile_on_every_renewal(tmp_path):
    """The declared profile goes into the first order and into each renewal (with ARI's replaces)."""
    from testbed.fake_ca import FakeCA, FakeSession, now, write_store_cert
    from ansible_collections.autotls.acme.plugins.module_utils._acme.issuer import CertificateSpec, Issuer

    ca = FakeCA()
    dest = str(tmp_path / 'certs')
    cert = write_store_cert(ca.issuing, dest, 'short', ['short.example.test'], 6, 1)   # due: 1 of 6 days left
    # The CA knows its certificate (its renewal information answers): replaces goes to it.
    ca.set_ari_window(cert, now() + datetime.timedelta(days=3), now() + datetime.timedelta(days=4))
    specs = [CertificateSpec('short', ['short.example.test'], profile='shortlived'),
             CertificateSpec('new', ['new.example.test'], profile='shortlived')]
    issuer = Issuer(FakeSession(ca), {}, RenewalPolicy(), dest, workers=2, timeout=30)
    outcomes = issuer.plan(specs)
    decisions = issuer.order(outcomes)
    assert {d['name']: d['action'] for d in decisions} == {'short': 'renew', 'new': 'issue'}
    assert [ca.orders[d['url']]['_profile'] for d in decisions] == ['shortlived', 'shortlived']
    renewal = next(d for d in decisions if d['name'] == 'short')
    assert ca.replaces_of(renewal['url'])
