# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issuers in order: which failures move a certificate on, rate limits, deferral.

Two in-process CAs (testbed/fake_ca.py) stand in for the transport; the integration
tests run the same against two real Pebbles, one behind a proxy that fails.
"""

import datetime
import json

import pytest
from testbed.fake_ca import FakeCA, FakeDnsSolver, FakeSession, now, write_store_cert

from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import (
    BLOCKED,
    RATE_LIMITED,
    REFUSED,
    SERVER_ERROR,
    UNREACHABLE,
    IssuerChain,
    IssuerState,
    IssuerUnavailable,
    Verdict,
    ca_side,
    deferral,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.issuer import CertificateSpec, Issuer, PlacedTokens
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeNetworkError,
    AcmeProtocolError,
    ConfigurationError,
    DeadlineExceeded,
    DnsProviderError,
    KeyMaterialError,
)

DAY = datetime.timedelta(days=1)
POLICY = RenewalPolicy(days=30, fraction=0.1, ari=True)


def _problem(kind, status=400, **details):
    return AcmeProtocolError('The ACME server refused the request: urn:ietf:params:acme:error:%s' % kind,
                             problem={'type': 'urn:ietf:params:acme:error:' + kind}, status=status, **details)


@pytest.mark.parametrize('error, stage, kind', [
    (AcmeNetworkError('Could not reach the ACME server'), 'order', UNREACHABLE),
    (AcmeNetworkError('Could not reach the ACME server'), 'account', UNREACHABLE),
    (AcmeNetworkError('Could not reach the ACME server'), 'validation', UNREACHABLE),
    (AcmeProtocolError('Could not read the ACME directory at https://ca/dir: reset'), 'account', UNREACHABLE),
    (_problem('rateLimited', 429, retry_after=30.0), 'order', RATE_LIMITED),
    (_problem('rateLimited', 429), 'finalize', RATE_LIMITED),
    (_problem('serverInternal', 500), 'order', SERVER_ERROR),
    (AcmeProtocolError('Unexpected answer (HTTP 503)', status=503), 'finalize', SERVER_ERROR),
    (_problem('serverInternal', 500), 'validation', SERVER_ERROR),
    (_problem('rejectedIdentifier'), 'order', REFUSED),
    (_problem('caa', 403), 'validation', REFUSED),
    (AcmeProtocolError('the order became invalid', problem={'type': 'urn:ietf:params:acme:error:orderNotReady'}),
     'finalize', REFUSED),
    (DeadlineExceeded('Gave up waiting for the CA to issue certificate a'), 'finalize', SERVER_ERROR),
    (IssuerUnavailable.at('le', 'rate limited'), 'order', BLOCKED),
])
def test_failures_on_the_ca_side_move_the_certificate_on(error, stage, kind):
    verdict = ca_side(error, stage)
    assert verdict is not None and verdict.kind == kind


@pytest.mark.parametrize('error, stage', [
    # Our own challenge answers: the CA could not validate them.
    (_problem('unauthorized', 403), 'validation'),
    (_problem('incorrectResponse', 403), 'validation'),
    (_problem('dns', 400), 'validation'),
    (_problem('connection', 400), 'validation'),
    (DeadlineExceeded('Gave up waiting for the CA to validate a.example'), 'validation'),
    # Our own request or settings, which would be as wrong at any CA.
    (_problem('badCSR'), 'finalize'),
    (_problem('malformed'), 'order'),
    (_problem('unauthorized', 403), 'account'),
    (ConfigurationError('the CA offers no profile shortlived'), 'order'),
    (KeyMaterialError('The ACME account key must be an RSA or EC key'), 'account'),
    (DnsProviderError('No Route53 hosted zone for a.example'), 'order'),
])
def test_failures_of_our_own_stay_with_the_certificate(error, stage):
    assert ca_side(error, stage) is None


def test_a_rate_limit_blocks_new_orders_until_its_retry_after():
    clock = [1000.0]
    state = IssuerState(clock=lambda: clock[0])
    state.block('le', Verdict(RATE_LIMITED, 'rate limited', retry_after=60))
    assert 'rate limited until' in state.unavailable('le') and state.rate_limited('le')
    assert state.unavailable('private') is None
    clock[0] += 61
    assert state.unavailable('le') is None
    # Without Retry-After: for the rest of the run, also in the next step (as plain data).
    state.block('le', Verdict(RATE_LIMITED, 'rate limited'))
    again = IssuerState(json.loads(json.dumps(state.to_data())), clock=lambda: clock[0] + 86400)
    assert 'rest of this run' in again.unavailable('le')


def test_deferred_only_when_the_certificate_in_place_outlives_the_next_run():
    moment = now()
    assert deferral(moment + 3 * DAY, moment, 24)[0] is True
    deferred, text = deferral(moment + DAY / 2, moment, 24)
    assert deferred is False and 'before the next run' in text and 'autotls_issuers' in text
    assert deferral(moment + DAY / 2, moment, 6)[0] is True     # the next run is in 6 hours
    assert deferral(None, moment, 24)[0] is False


# ---- two CAs in a row ------------------------------------------------------------------

def _chain(cas, dest, state=None, solvers=None, workers=1, run_interval=24):
    configs = [{'name': name, 'directory': 'https://%s.test/dir' % name} for name in cas]
    state = state if state is not None else IssuerState()

    def make(config):
        return Issuer(FakeSession(cas[config['name']]), solvers if solvers is not None else {'dns-01': FakeDnsSolver()},
                      POLICY, dest, workers=workers, timeout=30, name=config['name'], state=state)

    return IssuerChain(configs, make, state, run_interval=run_interval)


def _spec(name, challenge='dns-01'):
    return CertificateSpec(name, ['%s.example.test' % name], challenge=challenge)


def _results(outcomes):
    return {o.spec.name: o.as_result() for o in outcomes}


def test_rate_limited_first_ca_gets_one_order_and_the_rest_go_to_the_second(tmp_path):
    first, second = FakeCA(), FakeCA()
    first.new_order_error = _problem('rateLimited', 429)
    chain = _chain({'le': first, 'private': second}, str(tmp_path))
    outcomes = chain.run(chain.plan([_spec('a'), _spec('b'), _spec('c')]))

    assert first.new_orders == 1        # nothing more was sent to a CA that rate-limits us
    assert second.new_orders == 3
    for result in _results(outcomes).values():
        assert not result.get('failed') and result['action'] == 'issue'
        assert result['acme_issuer'] == 'private' and result['moved'] is True
        assert result['issuers_tried'][0].startswith('le: ')
    for result in _results(outcomes).values():
        assert result['issuers_tried'][0].startswith('le: rate limited')
    assert chain.state.rate_limited('le')


def test_rate_limited_everywhere_defers_what_can_wait_and_fails_what_cannot(tmp_path):
    ca = FakeCA()
    dest = str(tmp_path)
    # Both due by the days rule; one outlives tomorrow's run, one expires before it.
    write_store_cert(ca.issuing, dest, 'later', ['later.example.test'], 90, 5)
    write_store_cert(ca.issuing, dest, 'soon', ['soon.example.test'], 90, 0.5)
    ca.new_order_error = _problem('rateLimited', 429, retry_after=3600.0)
    chain = _chain({'le': ca}, dest)
    outcomes = chain.run(chain.plan([_spec('later'), _spec('soon'), _spec('new')]))
    results = _results(outcomes)

    assert ca.new_orders == 1
    assert results['later'].get('failed') is None and results['later']['deferred'] is True
    assert results['later']['changed'] is False and 'deferred to the next run' in results['later']['reason']
    assert results['soon']['failed'] and 'before the next run' in results['soon']['msg']
    assert results['new']['failed'] and 'no certificate yet' in results['new']['msg']


def test_a_validation_that_fails_on_our_answer_does_not_move_on(tmp_path):
    first, second = FakeCA(), FakeCA()
    first.fail_validation.add('a.example.test')
    chain = _chain({'le': first, 'private': second}, str(tmp_path))
    [outcome] = chain.run(chain.plan([_spec('a')]))
    assert outcome.error is not None and 'could not validate' in str(outcome.error)
    assert second.new_orders == 0 and outcome.tried == []


def test_one_issuer_keeps_its_own_message(tmp_path):
    ca = FakeCA()
    ca.refuse.add('a.example.test')
    chain = _chain({'le': ca}, str(tmp_path))
    [outcome] = chain.run(chain.plan([_spec('a')]))
    assert str(outcome.error).startswith('Certificate a: ') and 'rejectedIdentifier' in str(outcome.error)


def test_a_finalization_failing_in_the_finishing_step_is_carried_to_the_next_issuer(tmp_path):
    first, second = FakeCA(), FakeCA()
    first.finalize_error = _problem('serverInternal', 500)
    dest = str(tmp_path)
    state = IssuerState()
    specs = [_spec('web', 'http-01')]
    ordering = _chain({'le': first, 'private': second}, dest, state=state, solvers={})
    decisions = json.loads(json.dumps(ordering.order(ordering.plan(specs))))
    assert [d['issuer'] for d in decisions] == ['le']

    finishing = _chain({'le': first, 'private': second}, dest, state=IssuerState(state.to_data()),
                       solvers={'http-01': PlacedTokens()})
    [outcome] = finishing.resume(specs, decisions)
    result = outcome.as_result()
    assert outcome.retry and not result.get('failed') and result['moved'] and 'server error' in result['issuers_tried'][0]
    carried = json.loads(json.dumps([outcome.carried()]))

    # The next round orders it from the second issuer, and finishes it there.
    again = _chain({'le': first, 'private': second}, dest, solvers={})
    outcomes = [again.first.carried_outcome(specs[0], carried[0])]
    decisions = again.carry(outcomes)
    assert [d['issuer'] for d in decisions] == ['private'] and first.new_orders == 1
    done = _chain({'le': first, 'private': second}, dest, solvers={'http-01': PlacedTokens()})
    [outcome] = done.resume(specs, json.loads(json.dumps(decisions)))
    result = outcome.as_result()
    assert outcome.error is None and result['acme_issuer'] == 'private' and result['moved'] is True
    assert result['action'] == 'issue' and result['serial']


def test_a_later_run_goes_back_to_the_first_issuer_and_replaces_only_there(tmp_path):
    first, second = FakeCA(), FakeCA()
    dest = str(tmp_path)
    # Due certificates: one the second CA issued (the night before fell back to it), one the first issued.
    moved = write_store_cert(second.issuing, dest, 'moved', ['moved.example.test'], 90, 5)
    home = write_store_cert(first.issuing, dest, 'home', ['home.example.test'], 90, 5)
    first.set_ari_window(home, now() - 2 * DAY, now() - DAY)
    second.set_ari_window(moved, now() - 2 * DAY, now() - DAY)
    chain = _chain({'le': first, 'private': second}, dest)
    outcomes = chain.run(chain.plan([_spec('moved'), _spec('home')]))
    results = _results(outcomes)
    assert {n: r['acme_issuer'] for n, r in results.items()} == {'moved': 'le', 'home': 'le'}
    assert second.new_orders == 0 and 'moved' not in results['moved']
    assert results['home']['replaces'] and 'replaces' not in results['moved']


def test_the_rounds_of_a_run_give_each_certificate_its_last_word():
    from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import merge_rounds
    rounds = [
        {'ordered': {'certificates': [{'name': 'a', 'action': 'renew'}, {'name': 'b', 'action': 'none'},
                                      {'name': 'c', 'action': 'renew'}]},
         'finished': {'certificates': [{'name': 'a', 'action': 'renew', 'retry': True, 'issuers_tried': ['le: x']},
                                       {'name': 'c', 'action': 'renew', 'retry': True, 'issuers_tried': ['le: y']}],
                      'cleanup_errors': ['TXT values left in Route53: _acme-challenge.a']}},
        {'ordered': {'certificates': [{'name': 'a', 'action': 'renew', 'acme_issuer': 'zerossl'}]},
         'finished': {'certificates': [{'name': 'a', 'action': 'renew', 'acme_issuer': 'zerossl', 'moved': True}]}},
        {'ordered': {'skipped': True}, 'finished': {'skipped': True}},
    ]
    merged = merge_rounds(rounds)
    by_name = {r['name']: r for r in merged['results']}
    assert [r['name'] for r in merged['results']] == ['a', 'b', 'c']
    assert by_name['a'] == {'name': 'a', 'action': 'renew', 'acme_issuer': 'zerossl', 'moved': True}
    assert by_name['b']['action'] == 'none'
    # Left for a round that never came: failed, saying so.
    assert by_name['c']['failed'] and 'le: y' in by_name['c']['msg']
    assert merged['errors'] == ['Could not remove a challenge record: TXT values left in Route53: _acme-challenge.a']


def test_a_step_that_failed_as_a_whole_is_an_error_of_the_run():
    from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import merge_rounds
    merged = merge_rounds([{'ordered': {'failed': True, 'msg': 'issuers[0]: directory is missing'}, 'finished': {}}])
    assert merged == {'results': [], 'errors': ['issuers[0]: directory is missing']}


# ---- an issuer whose account key rollover is not finished ------------------------------------

HELD = ('The account key rollover at issuer le is not finished: a new account key is waiting in '
        '/srv/autotls/account.pem.pending; put its content into autotls_account_key_content')


def test_an_issuer_with_an_unfinished_rollover_sends_its_certificates_to_the_next(tmp_path):
    first, second = FakeCA(), FakeCA()
    state = IssuerState()
    state.hold('le', HELD)
    chain = _chain({'le': first, 'private': second}, str(tmp_path), state=state)
    outcomes = chain.run(chain.plan([_spec('a'), _spec('b')]))
    assert first.new_orders == 0 and second.new_orders == 2      # nothing asked of the held CA
    for result in _results(outcomes).values():
        assert not result.get('failed') and result['acme_issuer'] == 'private' and result['moved'] is True
        assert result['issuers_tried'] == ['le: %s (not asked)' % HELD]
    assert state.unavailable('le') == HELD and state.unavailable('private') is None


def test_the_other_issuers_order_normally_when_a_later_one_is_held(tmp_path):
    first, second = FakeCA(), FakeCA()
    state = IssuerState()
    state.hold('private', HELD)
    chain = _chain({'le': first, 'private': second}, str(tmp_path), state=state)
    outcomes = chain.run(chain.plan([_spec('a')]))
    assert first.new_orders == 1 and second.new_orders == 0
    result = _results(outcomes)['a']
    assert not result.get('failed') and result['acme_issuer'] == 'le' and not result.get('moved')


def test_with_no_other_issuer_the_certificate_fails_naming_the_waiting_key(tmp_path):
    ca = FakeCA()
    state = IssuerState()
    state.hold('le', HELD)
    chain = _chain({'le': ca}, str(tmp_path), state=state)
    [outcome] = chain.run(chain.plan([_spec('a')]))
    assert ca.new_orders == 0
    assert outcome.as_result()['failed'] and HELD in outcome.as_result()['msg']
