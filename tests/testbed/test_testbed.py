# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke tests of the test bed itself: real moto, real DNS over UDP/TCP, real Pebble."""

import concurrent.futures
import datetime
import http.server
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import josepy
import pytest
import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testbed.fixtures_hosts import ZONE as HOSTS_ZONE, HostDns
from testbed.processes import ProcessError, start_process

pytestmark = pytest.mark.integration

ZONE = 'bedcheck.example.test'  # not qa1.example.test: the test hosts' zone (host_dns)


def query(testbed, name, rtype, tcp=False):
    host, port = testbed.dns.address.rsplit(':', 1)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(dns.message.make_query(name, rtype), host, port=int(port), timeout=5)


def txt_strings(response):
    """{tuple of strings} of every TXT record in the answer."""
    return {tuple(s.decode() for s in rdata.strings)
            for rrset in response.answer if rrset.rdtype == dns.rdatatype.TXT for rdata in rrset}


# ---- DNS server over moto ------------------------------------------------------------------

@pytest.mark.parametrize('tcp', [False, True], ids=['udp', 'tcp'])
def test_txt_from_route53_api_is_served(route53, tcp):
    zone_id = route53.create_zone(ZONE)
    name = '_acme-challenge.app1.' + ZONE
    route53.upsert_txt(zone_id, name, ['token-one', 'token-two'])
    route53.upsert_record(zone_id, 'multi.' + ZONE, 'TXT', ['"part one" "part \\"two\\""'])

    response = query(route53, name, 'TXT', tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert txt_strings(response) == {('token-one',), ('token-two',)}
    assert txt_strings(query(route53, 'multi.' + ZONE, 'TXT', tcp)) == {('part one', 'part "two"')}
    assert route53.txt_values(name) == {'token-one', 'token-two'}
    assert route53.txt_values('multi.' + ZONE) == {'part one' + 'part "two"'}


def test_changes_show_at_once(route53):
    zone_id = route53.create_zone(ZONE)
    name = '_acme-challenge.' + ZONE
    route53.upsert_txt(zone_id, name, ['old'])
    assert txt_strings(query(route53, name, 'TXT')) == {('old',)}
    route53.upsert_txt(zone_id, name, ['new'])
    assert txt_strings(query(route53, name, 'TXT')) == {('new',)}
    route53.route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={'Changes': [{
        'Action': 'DELETE', 'ResourceRecordSet': {
            'Name': name, 'Type': 'TXT', 'TTL': 60, 'ResourceRecords': [{'Value': '"new"'}]}}]})
    assert query(route53, name, 'TXT').rcode() == dns.rcode.NXDOMAIN


def test_large_answer_truncated_over_udp(route53):
    zone_id = route53.create_zone(ZONE)
    values = ['value-%02d-%s' % (i, 'x' * 50) for i in range(12)]  # about 800 bytes
    route53.upsert_txt(zone_id, 'big.' + ZONE, values)
    udp = query(route53, 'big.' + ZONE, 'TXT')
    assert udp.flags & dns.flags.TC and not udp.answer
    assert txt_strings(query(route53, 'big.' + ZONE, 'TXT', tcp=True)) == {(v,) for v in values}


def test_cname_into_another_zone_is_chased(route53):
    zone_id = route53.create_zone(ZONE)
    other_id = route53.create_zone('validation.example.net')
    route53.upsert_record(zone_id, '_acme-challenge.app1.' + ZONE, 'CNAME', ['app1.validation.example.net'])
    route53.upsert_txt(other_id, 'app1.validation.example.net', ['delegated'])

    response = query(route53, '_acme-challenge.app1.' + ZONE, 'TXT')
    assert response.rcode() == dns.rcode.NOERROR
    cnames = [r for r in response.answer if r.rdtype == dns.rdatatype.CNAME]
    assert [str(rd.target) for r in cnames for rd in r] == ['app1.validation.example.net.']
    assert txt_strings(response) == {('delegated',)}


def test_negative_answers(route53):
    zone_id = route53.create_zone(ZONE)
    route53.upsert_record(zone_id, 'app1.' + ZONE, 'A', ['127.0.0.11'])

    a = query(route53, 'app1.' + ZONE, 'A')
    assert [rd.address for r in a.answer for rd in r] == ['127.0.0.11']

    # No AAAA: NOERROR, empty, authoritative (so a Go resolver does not call it lame).
    aaaa = query(route53, 'app1.' + ZONE, 'AAAA')
    assert aaaa.rcode() == dns.rcode.NOERROR and not aaaa.answer
    assert aaaa.flags & dns.flags.AA
    assert [r.rdtype for r in aaaa.authority] == [dns.rdatatype.SOA]

    assert query(route53, 'missing.' + ZONE, 'A').rcode() == dns.rcode.NXDOMAIN
    # An empty non-terminal exists: NOERROR, no data.
    route53.upsert_record(zone_id, 'a.b.' + ZONE, 'A', ['127.0.0.12'])
    assert query(route53, 'b.' + ZONE, 'A').rcode() == dns.rcode.NOERROR
    assert query(route53, 'nowhere.example.org', 'A').rcode() == dns.rcode.REFUSED


def test_wildcard_escaped_as_route53_does(route53):
    zone_id = route53.create_zone(ZONE)
    route53.upsert_record(zone_id, '\\052.apps.' + ZONE, 'A', ['127.0.0.13'])
    route53.upsert_record(zone_id, 'fixed.apps.' + ZONE, 'A', ['127.0.0.14'])
    answer = query(route53, 'Any.Apps.' + ZONE.upper(), 'A').answer
    assert [rd.address for r in answer for rd in r] == ['127.0.0.13']
    answer = query(route53, 'fixed.apps.' + ZONE, 'A').answer
    assert [rd.address for r in answer for rd in r] == ['127.0.0.14']


def test_public_zone_preferred_over_private(route53):
    private_id = route53.create_zone('corp.example.test', private=True)
    route53.upsert_txt(private_id, 'svc.corp.example.test', ['private'])
    assert txt_strings(query(route53, 'svc.corp.example.test', 'TXT')) == {('private',)}

    public_id = route53.create_zone('corp.example.test')
    route53.upsert_txt(public_id, 'svc.corp.example.test', ['public'])
    assert txt_strings(query(route53, 'svc.corp.example.test', 'TXT')) == {('public',)}
    assert route53.txt_values('svc.corp.example.test') == {'public'}

    route53.delete_zone(public_id)
    assert public_id not in route53.zone_ids()
    assert txt_strings(query(route53, 'svc.corp.example.test', 'TXT')) == {('private',)}


def test_the_hosts_zone_is_deleted_after_the_test_that_made_it(route53):
    """host_dns makes qa1.example.test when absent and deletes it (records and all) after:
    a later test on the worker that makes that zone itself must be alone with it."""
    host = type('Host', (), {'fqdn': 'app1.' + HOSTS_ZONE, 'address': '127.0.0.11'})()
    made = HostDns(route53)
    assert made.created
    made.add(host)
    made.add(host, fqdn='old.' + HOSTS_ZONE)
    assert [a.address for a in query(route53, host.fqdn, 'A').answer[0]] == ['127.0.0.11']
    made.close()
    assert made.zone_id not in route53.zone_ids()
    assert route53.zone_id_for(host.fqdn) is None
    made.close()                # twice (or after the route53 fixture deleted it): nothing to do

    # A zone that was there before is found, used and left in place.
    before = route53.create_zone(HOSTS_ZONE)
    found = HostDns(route53)
    assert (found.zone_id, found.created) == (before, False)
    found.add(host)
    found.close()
    assert before in route53.zone_ids()


def test_many_concurrent_queries(route53):
    zone_id = route53.create_zone(ZONE)
    names = ['_acme-challenge.host%03d.%s' % (i, ZONE) for i in range(150)]
    for start in range(0, len(names), 50):  # a few batches: one change batch each
        route53.route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={'Changes': [
            {'Action': 'UPSERT', 'ResourceRecordSet': {
                'Name': n, 'Type': 'TXT', 'TTL': 60, 'ResourceRecords': [{'Value': '"%s"' % n}]}}
            for n in names[start:start + 50]]})

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        responses = list(pool.map(lambda n: query(route53, n, 'TXT'), names))
    elapsed = time.monotonic() - began
    assert [txt_strings(r) for r in responses] == [{(n,)} for n in names]
    assert elapsed < 15, '150 concurrent queries took %.1f s' % elapsed


# ---- Pebble --------------------------------------------------------------------------------

def test_pebble_directory_and_roots(testbed):
    pebble = testbed.pebble
    directory = requests.get(pebble.directory_url, verify=pebble.ca_bundle, timeout=5).json()
    assert {'newAccount', 'newNonce', 'newOrder'} <= set(directory)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(pebble.directory_url, timeout=5)  # the system trust store does not know it

    root = x509.load_pem_x509_certificate(pebble.roots_pem().encode())
    intermediate = x509.load_pem_x509_certificate(pebble.intermediates_pem().encode())
    assert intermediate.issuer == root.subject
    intermediate.verify_directly_issued_by(root)

    # Pebble runs without artificial sleeps and with its default 5% nonce rejection.
    with open('/proc/%d/environ' % pebble.process.pid, 'rb') as f:
        env = dict(item.split(b'=', 1) for item in f.read().split(b'\0') if b'=' in item)
    assert env[b'PEBBLE_VA_NOSLEEP'] == b'1'
    assert b'PEBBLE_WFE_NONCEREJECT' not in env


def acme_client(pebble, key=None):
    key = key or josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=pebble.ca_bundle,
                               user_agent='autotls-testbed')
    return client.ClientV2(client.ClientV2.get_directory(pebble.directory_url, net), net), key


def test_eab_pebble_requires_binding(pebble_factory):
    pebble = pebble_factory(eab_required=True, env={'PEBBLE_WFE_NONCEREJECT': '0'})
    assert pebble.eab_kid and pebble.eab_hmac_key
    acme, key = acme_client(pebble)
    with pytest.raises(messages.Error) as excinfo:
        acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    assert excinfo.value.code == 'externalAccountRequired'

    eab = messages.ExternalAccountBinding.from_data(
        account_public_key=key.public_key(), kid=pebble.eab_kid, hmac_key=pebble.eab_hmac_key,
        directory=acme.directory)
    account = acme.new_account(messages.NewRegistration.from_data(
        terms_of_service_agreed=True, external_account_binding=eab))
    assert account.body.status == 'valid'


def test_pebble_validates_through_route53_dns(route53, pebble_factory):
    """End to end: DNS-01 against a TXT in moto, HTTP-01 against an A record in moto."""
    pebble = pebble_factory(env={'PEBBLE_WFE_NONCEREJECT': '0'}, validity_seconds=3600)
    zone_id = route53.create_zone(ZONE)
    dns_name, web_name = 'dns.' + ZONE, 'web.' + ZONE
    route53.upsert_record(zone_id, web_name, 'A', ['127.0.0.1'])

    served = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = served.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write((body or '').encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', pebble.http_port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        acme, key = acme_client(pebble)
        acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
        cert_key = ec.generate_private_key(ec.SECP256R1())
        csr = crypto_util.make_csr(cert_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), [dns_name, web_name])
        order = acme.new_order(csr)
        for authz in order.authorizations:
            domain = authz.body.identifier.value
            kind = challenges.DNS01 if domain == dns_name else challenges.HTTP01
            challb = next(c for c in authz.body.challenges if isinstance(c.chall, kind))
            response, validation = challb.chall.response_and_validation(key)
            if kind is challenges.DNS01:
                route53.upsert_txt(zone_id, challb.chall.validation_domain_name(domain), [validation])
            else:
                served[challb.chall.path] = validation
            acme.answer_challenge(challb, response)
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
        try:
            order = acme.poll_and_finalize(order, deadline)
        except errors.ValidationError as e:
            pytest.fail('validation failed: %s' % [a.body.challenges for a in e.failed_authzrs])
    finally:
        server.shutdown()
        server.server_close()
    leaf = x509.load_pem_x509_certificate(order.fullchain_pem.encode())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {dns_name, web_name}
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert abs(lifetime.total_seconds() - 3600) < 120


# ---- helpers -------------------------------------------------------------------------------

def test_process_helpers(tmp_path):
    proc = start_process(['sh', '-c', 'echo starting-up; exit 3'], str(tmp_path), name='failing')
    with pytest.raises(ProcessError) as excinfo:
        proc.wait_ready(lambda: False, timeout=5)
    assert 'exited with code 3' in str(excinfo.value) and 'starting-up' in str(excinfo.value)

    proc = start_process(['sleep', '60'], str(tmp_path), name='sleeper')
    with pytest.raises(ProcessError, match='not ready after'):
        proc.wait_ready(lambda: False, timeout=0.2)
    assert proc.stop() == -15
    assert proc.stop() == -15  # again: no error, nothing signalled


def test_run_playbook_records_results(run_playbook):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: say
      ansible.builtin.debug:
        msg: "{{ greeting }}"
    - name: change
      ansible.builtin.command: "true"
    - name: fail softly
      ansible.builtin.fail:
        msg: soft
      ignore_errors: true
"""
    result = run_playbook(playbook, extra_vars={'greeting': 'hello'})
    assert result.rc == 0
    assert result.task('say')['result']['msg'] == 'hello'
    assert [r['task'] for r in result.changed] == ['change']
    assert result.task('fail softly')['failed'] and not result.failed
    assert result.stats['localhost']['changed'] == 1

    with pytest.raises(AssertionError, match='exited 2, expected 0'):
        run_playbook('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                     '    - name: boom\n      ansible.builtin.fail:\n        msg: hard\n')
    result = run_playbook('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                          '    - name: boom\n      ansible.builtin.fail:\n        msg: hard\n', expect_rc=2)
    assert result.task('boom')['result']['msg'] == 'hard'
    assert 'hard' in result.stdout  # the default callback still writes readable output
