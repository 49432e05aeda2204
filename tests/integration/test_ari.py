# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Renewal by ACME Renewal Information against a scripted ARI endpoint in front of Pebble."""

import base64
import json
import os

from cryptography import x509

from testbed.ari import AriServer

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: issue
      autotls.acme.certificate:
        acme_directory: "{{ directory }}"
        acme_ca_bundle: "{{ ca_bundle }}"
        account_key_src: "{{ account_key }}"
        terms_agreed: true
        aws_endpoint_url: "{{ aws_endpoint }}"
        dns_servers: ["{{ dns_server }}"]
        dest: "{{ dest }}"
        profile: "{{ profile | default(omit) }}"
        certificates: [{name: ari, domains: [ari.example.test]}]
"""


def _cert_id(path):
    """RFC 9773 identifier, computed here independently of the collection's code."""
    with open(path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, 'big')

    def enc(data):
        return base64.urlsafe_b64encode(data).decode().rstrip('=')
    return enc(aki) + '.' + enc(serial)


def test_the_ca_window_decides_and_the_renewal_names_what_it_replaces(route53, run_playbook, tmp_path):
    route53.create_zone('example.test')
    with AriServer(route53.pebble) as ari:
        ari.window_from_now(40 * 86400, 45 * 86400)
        extra = dict(directory=ari.directory_url, ca_bundle=route53.pebble.ca_bundle,
                     account_key=str(tmp_path / 'account.pem'), aws_endpoint=route53.moto.endpoint_url,
                     dns_server=route53.dns.address, dest=str(tmp_path / 'certs'))

        def run():
            return run_playbook(PLAYBOOK, extra_vars=extra).task('issue')['result']['certificates'][0]

        first = run()
        assert first['action'] == 'issue' and 'replaces' not in first
        cert_path = first['files']['cert']
        first_id = _cert_id(cert_path)

        # The CA's window lies in the future: the certificate stays.
        second = run()
        assert second['action'] == 'none' and second['serial'] == first['serial']
        assert 'ari_renewal_time' in second
        assert ari.asked == [first_id]

        # The CA moves the window to now (as before a mass revocation): renewed at once,
        # although the local rules (5-year Pebble certificate) say years to go.
        ari.window_from_now(-3600, -60)
        third = run()
        assert third['action'] == 'renew'
        assert 'renewal window (ARI)' in third['reason']
        assert third['replaces'] == first_id
        assert third['serial'] != first['serial']


def test_a_profile_the_ca_does_not_offer_is_refused_naming_those_it_does(route53, run_playbook, tmp_path):
    route53.create_zone('example.test')
    with AriServer(route53.pebble) as ari:
        ari.profiles = {'classic': 'the usual', 'shortlived': '6-day certificates'}
        extra = dict(directory=ari.directory_url, ca_bundle=route53.pebble.ca_bundle,
                     account_key=str(tmp_path / 'account.pem'), aws_endpoint=route53.moto.endpoint_url,
                     dns_server=route53.dns.address, dest=str(tmp_path / 'certs'))
        refused = run_playbook(PLAYBOOK, extra_vars=dict(extra, profile='tlsserver'), expect_rc=2)
        cert = refused.task('issue')['result']['certificates'][0]
        assert 'tlsserver' in cert['msg'] and 'classic, shortlived' in cert['msg']
        assert not (tmp_path / 'certs' / 'ari').exists()

        chosen = run_playbook(PLAYBOOK, extra_vars=dict(extra, profile='shortlived'))
        assert chosen.task('issue')['result']['certificates'][0]['action'] == 'issue'


RENEW = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     'playbooks', 'renew.yml')
ORDERED = 'autotls.acme.issue : Create the orders of the certificates that are due'
ISSUED = 'autotls.acme.issue : Answer the challenges, finalize and store the certificates'


def test_the_nightly_playbook_renews_what_the_ca_window_makes_due_and_what_operators_force(
        route53, run_playbook, tmp_path):
    """renew.yml orders in one step and finishes in another: the decision must survive the gap."""
    route53.create_zone('example.test')
    with AriServer(route53.pebble) as ari:
        ari.window_from_now(40 * 86400, 45 * 86400)
        inventory = tmp_path / 'inventory.json'
        inventory.write_text(json.dumps({'all': {
            'hosts': {'edge1': {'ansible_connection': 'local'}},
            'vars': {
                'autotls_acme_directory': ari.directory_url, 'autotls_acme_ca_bundle': route53.pebble.ca_bundle,
                'autotls_terms_agreed': True, 'autotls_store': {'type': 'local', 'path': str(tmp_path / 'store')},
                'autotls_route53': {'endpoint_url': route53.moto.endpoint_url},
                'autotls_dns_servers': [route53.dns.address], 'autotls_deploy': False,
                'autotls_certificates': [{'name': 'edge', 'domains': ['edge.example.test'], 'challenge': 'dns-01'},
                                         {'name': 'api', 'domains': ['api.example.test'], 'challenge': 'dns-01'}],
            }}}))

        def run(*args):
            result = run_playbook(RENEW, inventory=str(inventory), connection=None, args=args)
            ordered = {c['name']: c for c in result.task(ORDERED)['result']['certificates']}
            finish = result.task(ISSUED)
            finished = {} if finish['status'] == 'skipped' else \
                {c['name']: c for c in finish['result']['certificates']}
            return ordered, finished

        _ordered, first = run()
        assert {n: c['action'] for n, c in first.items()} == {'edge': 'issue', 'api': 'issue'}
        edge_id = _cert_id(first['edge']['files']['cert'])

        # The CA's window starts: the order step finds both due by ARI alone (the local rules
        # say years to go), and the finishing step renews them, naming what they replace.
        ari.window_from_now(-3600, -60)
        ordered, second = run()
        assert {n: c['action'] for n, c in ordered.items()} == {'edge': 'renew', 'api': 'renew'}
        assert {n: c['action'] for n, c in second.items()} == {'edge': 'renew', 'api': 'renew'}
        assert 'renewal window (ARI)' in second['edge']['reason']
        assert second['edge']['replaces'] == edge_id
        assert second['edge']['serial'] != first['edge']['serial']

        # Forced from the command line: everything, then one name.
        ari.window_from_now(40 * 86400, 45 * 86400)
        _ordered, forced = run('-e', 'autotls_force=true')
        assert {n: (c['action'], c['reason']) for n, c in forced.items()} == {
            'edge': ('renew', 'renewal forced'), 'api': ('renew', 'renewal forced')}
        ordered, one = run('-e', '{"autotls_force": ["api"]}')
        assert ordered['edge']['action'] == 'none' and list(one) == ['api']
        assert one['api']['serial'] != forced['api']['serial']
