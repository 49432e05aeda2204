# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issuers in order, through renew.yml, against two real Pebbles.

The inventory is docs/issuers.md's, as written; only what must point at the test bed is
changed (each issuer's directory goes to a proxy in front of its own Pebble, the second
with External Account Binding as ZeroSSL has it; the vault values are the test bed's).
The proxies (testbed/ca_proxy.py) pass everything to the real Pebbles unless told to fail
like a CA does: rateLimited on new orders, 503 on finalization, or not be there at all
(the proxy stopped: its port refuses every connection). One session of five nightly runs
on the controller (DNS-01 through moto, no SSH hosts):

1. the first CA rate-limits: it gets one new order, no more; both certificates come
   from the second CA, reported as moved;
2. the first CA fails to finalize: the certificate goes back to the first issuer first
   (it is due), and is ordered from the second in another round of the same run;
3. the first CA is down (connection refused): both certificates renew at the second,
   reported as moved because the first was unreachable; the first CA is tried once for
   the run (three connection attempts), not once per certificate;
4. the first CA is back, the second rate-limits: both renew at the first issuer again,
   the second is never asked;
5. both rate-limit: each gets one new order; both certificates (valid for years) are
   deferred, not failed, and the run succeeds.
"""

import copy
import os
import sys

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testbed.ca_proxy import FINALIZE, ORDER, CaProxy
from testbed.doc_examples import guide_inventory

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RENEW = os.path.join(REPO, 'playbooks', 'renew.yml')
GUIDE = 'docs/issuers.md'
ORDERED = 'autotls.acme.issue : Create the orders of the certificates that are due'


def _key():
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _inventory(directory, first, second, pebble_b, testbed, store):
    """The guide's inventory, pointed at the test bed; returns the path of hosts.yml."""
    files = copy.deepcopy(guide_inventory(GUIDE, section='1. The inventory'))
    all_vars = files['group_vars/all.yml']
    issuers = all_vars['autotls_issuers']
    assert [i['name'] for i in issuers] == ['letsencrypt', 'zerossl'], 'update the test bed mapping of %s' % GUIDE
    for issuer, proxy in zip(issuers, (first, second)):
        issuer.update(directory=proxy.directory_url, ca_bundle=proxy.ca_bundle)
    all_vars.update(
        autotls_route53={'endpoint_url': testbed.moto.endpoint_url},
        autotls_dns_servers=[testbed.dns.address],
        autotls_store={'type': 'local', 'path': store},
        autotls_deploy=False,       # the controller only: no host serves these names here
        vault_le_account_key=_key(), vault_zerossl_account_key=_key(),
        vault_zerossl_eab_kid=pebble_b.eab_kid, vault_zerossl_eab_hmac_key=pebble_b.eab_hmac_key)
    files['hosts.yml'] = {'all': {'children': {'qa1': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}}}
    for name, data in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as handle:
            yaml.safe_dump(data, handle)
    return os.path.join(directory, 'hosts.yml')


def _results(run):
    """Each certificate's last word in the run, as the issue role sums it up."""
    facts = run.task('autotls.acme.issue : Sum up what was issued and what failed')['result']['ansible_facts']
    return {entry['name']: entry for entry in facts['autotls_issue_results']}


@pytest.mark.timeout(600)
def test_issuers_in_order_fall_back_and_respect_rate_limits(pebble_factory, route53, testbed, run_playbook, tmp_path):
    route53.create_zone('qa1.example.com')
    pebble_a = pebble_factory()
    pebble_b = pebble_factory(eab_required=True)
    store = str(tmp_path / 'store')
    with CaProxy(pebble_a, 'letsencrypt') as first, CaProxy(pebble_b, 'zerossl') as second:
        inventory = _inventory(str(tmp_path / 'inventory'), first, second, pebble_b, testbed, store)

        # 1. Let's Encrypt rate-limits: one new order reaches it, none more; ZeroSSL issues both.
        first.fail(ORDER, 429, 'rateLimited', retry_after=3600)
        run = run_playbook(RENEW, inventory=inventory, connection=None)
        results = _results(run)
        assert first.count(ORDER) == 1
        for name in ('qa1-wildcard', 'qa1-api'):
            entry = results[name]
            assert entry['action'] == 'issue' and not entry.get('failed'), entry
            assert entry['acme_issuer'] == 'zerossl' and entry['moved'] is True
            assert entry['issuers_tried'][0].startswith('letsencrypt: ')
        assert any('rateLimited' in t or 'rate limited' in t for t in results['qa1-api']['issuers_tried'])
        summed = run.task('Sum up the run')['result']['msg']
        assert any(line.startswith('  - qa1-api: ') and 'from zerossl (moved; letsencrypt: rate limited' in line
                   for line in summed), summed
        assert summed[-1].startswith('Totals: 2 issued, 0 renewed, 0 unchanged, 0 failed;')
        assert route53.txt_values('_acme-challenge.qa1.example.com') == set()

        # 2. Due again: ordered from Let's Encrypt first (its limit was for that run). Its
        # finalization fails (503): another round orders it from ZeroSSL in the same run.
        first.heal()
        first.fail(FINALIZE, 503, 'serverInternal', retry_after=0)
        orders_before = first.count(ORDER)
        run = run_playbook(RENEW, inventory=inventory, connection=None, extra_vars={'autotls_force': ['qa1-api']})
        results = _results(run)
        assert first.count(ORDER) == orders_before + 1 and first.count(FINALIZE) >= 1
        entry = results['qa1-api']
        assert entry['action'] == 'renew' and not entry.get('failed') and entry['acme_issuer'] == 'zerossl', entry
        assert entry['moved'] and 'server error' in entry['issuers_tried'][0]
        assert results['qa1-wildcard']['action'] == 'none'
        assert len([r for r in run.tasks(ORDERED) if r['status'] != 'skipped']) == 2     # two rounds

        # 3. Let's Encrypt is down: nothing listens on its port. Both renew at ZeroSSL in
        # the first round; the summary says why they moved.
        first.heal()
        first.stop()
        run = run_playbook(RENEW, inventory=inventory, connection=None, extra_vars={'autotls_force': True})
        results = _results(run)
        for name in ('qa1-wildcard', 'qa1-api'):
            entry = results[name]
            assert entry['action'] == 'renew' and not entry.get('failed') and entry['acme_issuer'] == 'zerossl', entry
            assert entry['moved'] is True and len(entry['issuers_tried']) == 1, entry
            why = entry['issuers_tried'][0]
            # One directory read for the run, given up after three refused connections.
            assert why.startswith('letsencrypt: unreachable (') and first.directory_url in why, why
            assert '(3 attempts)' in why and 'refused' in why.lower(), why
        assert len([r for r in run.tasks(ORDERED) if r['status'] != 'skipped']) == 1     # one round
        summed = run.task('Sum up the run')['result']['msg']
        assert any(line.startswith('  - qa1-wildcard: ') and 'from zerossl (moved; letsencrypt: unreachable' in line
                   for line in summed), summed
        assert summed[-1].startswith('Totals: 0 issued, 2 renewed, 0 unchanged, 0 failed;'), summed

        # 4. Let's Encrypt is back, ZeroSSL rate-limits: both are due and renew at the first issuer.
        first.start()
        second.fail(ORDER, 429, 'rateLimited')
        zerossl_orders = second.count(ORDER)
        run = run_playbook(RENEW, inventory=inventory, connection=None, extra_vars={'autotls_force': True})
        results = _results(run)
        assert {n: (e['action'], e['acme_issuer'], e.get('moved')) for n, e in results.items()} == {
            'qa1-wildcard': ('renew', 'letsencrypt', None), 'qa1-api': ('renew', 'letsencrypt', None)}
        assert second.count(ORDER) == zerossl_orders

        # 5. Both rate-limit: one new order each, and the certificates (valid for years) wait
        # for the next run. Deferred is not failed: the run succeeds and says so.
        first.fail(ORDER, 429, 'rateLimited', retry_after=3600)
        before = (first.count(ORDER), second.count(ORDER))
        run = run_playbook(RENEW, inventory=inventory, connection=None, extra_vars={'autotls_force': True})
        assert (first.count(ORDER), second.count(ORDER)) == (before[0] + 1, before[1] + 1)
        results = _results(run)
        for entry in results.values():
            assert entry['deferred'] is True and not entry.get('failed') and entry['changed'] is False, entry
            assert 'deferred to the next run' in entry['reason']
        summed = run.task('Sum up the run')['result']['msg']
        assert 'Deferred (rate limited):' in summed
        assert summed[-1].startswith('Totals: 0 issued, 0 renewed, 0 unchanged, 0 failed, 2 deferred;'), summed
