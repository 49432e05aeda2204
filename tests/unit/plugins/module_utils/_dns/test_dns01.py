# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DNS-01 solver against a real moto server and the testbed's DNS server over it.

What is injected is only what the real parts cannot be made to do on cue: a Route53
change that stays PENDING, an authoritative server that lags behind, a refused delete.
Every injection delegates to the real server otherwise. No timing is asserted: where
"together" matters, an injection makes the sequential way wait for something that only
the concurrent way provides, so a sequential solver runs into its deadline and fails.
"""

import os
import signal
import threading
import uuid

import pytest
from botocore.awsrequest import AWSResponse

from ansible_collections.autotls.acme.plugins.module_utils._acme.issuer import CertificateSpec
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.signals import Terminated, terminate_as_interrupt
from ansible_collections.autotls.acme.plugins.module_utils._common.timings import PhaseTimings
from ansible_collections.autotls.acme.plugins.module_utils._dns import dns01, propagation, route53
from ansible_collections.autotls.acme.plugins.module_utils._dns.route53 import decode_txt_value, normalize_name


class Challenge:
    """The two things the solver reads of a pending DNS-01 challenge."""

    def __init__(self, record_name, value):
        self.record_name = record_name
        self.value = value


class _Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


def _pending(change_id):
    return (b'<?xml version="1.0"?>\n<GetChangeResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
            b'<ChangeInfo><Id>/change/%s</Id><Status>PENDING</Status>'
            b'<SubmittedAt>2024-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>'
            % change_id.encode())


DENIED = (b'<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
          b'<Error><Type>Sender</Type><Code>AccessDenied</Code>'
          b'<Message>not allowed to change this zone</Message></Error>'
          b'<RequestId>denied-1</RequestId></ErrorResponse>')


@pytest.fixture
def admin(moto):
    return moto.client('route53')


def make_zone(admin, name):
    return admin.create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex)['HostedZone']['Id'].rsplit('/', 1)[-1]


def all_txt(admin):
    """{name: set(values)} of every TXT record set in the account."""
    out = {}
    for zone in admin.list_hosted_zones()['HostedZones']:
        for rrset in admin.list_resource_record_sets(HostedZoneId=zone['Id'])['ResourceRecordSets']:
            if rrset['Type'] == 'TXT':
                out[normalize_name(rrset['Name'])] = {decode_txt_value(r['Value']) for r in rrset['ResourceRecords']}
    return out


@pytest.fixture
def solver(aws_options, route53_dns):
    def make(**kwargs):
        kwargs.setdefault('propagation_timeout', 20)
        return dns01.Route53Dns01Solver(aws_options, nameservers=[route53_dns.address], **kwargs)
    return make


@pytest.fixture
def events():
    """An ordered, thread-safe event log."""
    log = []
    lock = threading.Lock()

    def add(*event):
        with lock:
            log.append(event)
    add.log = log
    return add


def record_submissions(client, events):
    """Log each ChangeResourceRecordSets as ('submit', zone id, change id).

    moto answers the same change id for every change; Route53 gives each change its own,
    and so does this hook (moto answers GetChange for any id).
    """
    zone_of_call = {}

    def before(params, **_kwargs):
        zone_of_call[threading.get_ident()] = params['HostedZoneId']

    def after(parsed, **_kwargs):
        if 'ChangeInfo' in parsed:
            change_id = 'C%s' % uuid.uuid4().hex[:12].upper()
            parsed['ChangeInfo']['Id'] = '/change/' + change_id
            events('submit', zone_of_call[threading.get_ident()], change_id)

    client.meta.events.register('before-parameter-build.route53.ChangeResourceRecordSets', before)
    client.meta.events.register('after-call.route53.ChangeResourceRecordSets', after)


def items_for(*pairs):
    """[(spec, challenge)] from (certificate name, domain, value) triples."""
    specs = {}
    out = []
    for cert, domain, value in pairs:
        spec = specs.setdefault(cert, CertificateSpec(cert, [domain]))
        out.append((spec, Challenge('_acme-challenge.' + domain, value)))
    return out


def test_two_zones_are_submitted_first_and_waited_for_together(admin, solver, events, monkeypatch):
    zone_a = make_zone(admin, 'a.test')
    zone_b = make_zone(admin, 'b.test')
    dns = solver()
    client = dns.records.client
    record_submissions(client, events)
    change_zone = {}
    seen_b = threading.Event()

    def get_change(request, **_kwargs):
        change_id = request.url.rsplit('/', 1)[-1]
        if not change_zone:
            change_zone.update({change: zone for kind, zone, change in events.log if kind == 'submit'})
        zone = change_zone.get(change_id)
        events('getchange', zone)
        if zone == zone_b:
            seen_b.set()
        elif zone == zone_a and not seen_b.is_set():
            # Zone A's change stays PENDING until zone B's is asked about: a solver that
            # waits for A before it starts on B never sees A INSYNC and fails.
            return AWSResponse(request.url, 200, {'Content-Type': 'text/xml'}, _Raw(_pending(change_id)))
        return None

    client.meta.events.register('before-send.route53.GetChange', get_change)

    real_query = propagation.query_txt
    asked_b = threading.Event()

    def lagging_query(fqdn, server, timeout=2.0):
        events('query', fqdn)
        if fqdn.endswith('.b.test'):
            asked_b.set()
        answer = real_query(fqdn, server, timeout)
        if fqdn.endswith('.a.test') and not asked_b.is_set():
            return set()        # zone A's servers lag until zone B's are asked
        return answer

    monkeypatch.setattr(propagation, 'query_txt', lagging_query)
    items = items_for(('cert-a', 'www.a.test', 'value-a'), ('cert-b', 'www.b.test', 'value-b'))
    try:
        failures = dns.present(items)
        log = list(events.log)      # what present() did (cleanup writes come after)
        assert failures == {}
        assert all_txt(admin) == {'_acme-challenge.www.a.test': {'value-a'},
                                  '_acme-challenge.www.b.test': {'value-b'}}
    finally:
        dns.cleanup()

    kinds = [e[0] for e in log]
    last_submit = max(i for i, k in enumerate(kinds) if k == 'submit')
    assert {e[1] for e in log if e[0] == 'submit'} == {zone_a, zone_b}
    # Every batch went out before any wait started...
    assert last_submit < kinds.index('getchange') and last_submit < kinds.index('query')
    # ...and each zone was waited for while the other was still pending.
    assert ('getchange', zone_b) in log and ('query', '_acme-challenge.www.b.test') in log
    assert all_txt(admin) == {}
    assert dns.cleanup_errors == []


def test_missing_dnspython_is_refused_before_anything_is_written(admin, solver, events, monkeypatch):
    make_zone(admin, 'a.test')
    dns = solver()
    record_submissions(dns.records.client, events)
    monkeypatch.setattr(propagation, 'HAS_DNSPYTHON', False)
    items = items_for(('one', 'www.a.test', 'v1'), ('two', 'api.a.test', 'v2'))

    failures = dns.present(items)
    dns.cleanup()

    assert set(failures) == {'one', 'two'}
    assert 'dnspython' in str(failures['one']) and 'pip install dnspython' in str(failures['one'])
    assert events.log == []
    assert all_txt(admin) == {}
    assert dns.cleanup_errors == []


def test_missing_boto3_is_refused_before_anything_is_written(admin, solver, monkeypatch):
    make_zone(admin, 'a.test')
    dns = solver()
    monkeypatch.setattr(dns01.aws, 'HAS_BOTO3', False)
    failures = dns.present(items_for(('one', 'www.a.test', 'v1')))
    assert 'boto3' in str(failures['one'])
    assert all_txt(admin) == {}


def test_a_lagging_zone_fails_only_its_certificates_and_everything_is_removed(admin, solver, monkeypatch):
    zone_a = make_zone(admin, 'a.test')
    make_zone(admin, 'b.test')
    admin.change_resource_record_sets(HostedZoneId=zone_a, ChangeBatch={'Changes': [{
        'Action': 'UPSERT', 'ResourceRecordSet': {
            'Name': '_acme-challenge.www.a.test', 'Type': 'TXT', 'TTL': 300,
            'ResourceRecords': [{'Value': '"not-ours"'}]}}]})
    real_query = propagation.query_txt

    def b_never_arrives(fqdn, server, timeout=2.0):
        answer = real_query(fqdn, server, timeout)
        return set() if fqdn.endswith('.b.test') else answer

    monkeypatch.setattr(propagation, 'query_txt', b_never_arrives)
    dns = solver()
    items = items_for(('cert-a', 'www.a.test', 'value-a'), ('cert-b', 'www.b.test', 'value-b'))
    try:
        failures = dns.present(items, deadline=Deadline(1.5))
    finally:
        dns.cleanup()

    assert set(failures) == {'cert-b'}
    msg = str(failures['cert-b'])
    assert 'Gave up after 2 s' in msg and '_acme-challenge.www.b.test' in msg and 'value-b' in msg
    assert 'www.a.test' not in msg
    assert all_txt(admin) == {'_acme-challenge.www.a.test': {'not-ours'}}
    assert dns.cleanup_errors == []


def test_a_value_that_cannot_be_removed_is_reported_by_name(admin, solver):
    make_zone(admin, 'a.test')
    make_zone(admin, 'b.test')
    dns = solver()
    items = items_for(('cert-a', 'www.a.test', 'value-a'), ('cert-b', 'www.b.test', 'value-b'))
    assert dns.present(items) == {}
    zone_b = dns.records.zones.find_zone('b.test').id

    def deny_b(request, **_kwargs):
        if zone_b in request.url:
            return AWSResponse(request.url, 403, {'Content-Type': 'text/xml'}, _Raw(DENIED))
        return None

    dns.records.client.meta.events.register('before-send.route53.ChangeResourceRecordSets', deny_b)
    dns.cleanup()
    dns.records.client.meta.events.unregister('before-send.route53.ChangeResourceRecordSets', deny_b)

    assert len(dns.cleanup_errors) == 1
    assert '_acme-challenge.www.b.test' in dns.cleanup_errors[0]
    assert 'AccessDenied' in dns.cleanup_errors[0]
    # Zone A was cleaned although zone B refused.
    assert all_txt(admin) == {'_acme-challenge.www.b.test': {'value-b'}}
    dns.cleanup_errors.clear()
    dns.cleanup()
    assert all_txt(admin) == {} and dns.cleanup_errors == []


def test_sigterm_while_waiting_removes_what_was_written(admin, solver):
    """SIGTERM arrives while the solver waits; the cleanup in ``finally`` (as the issuer has
    it) removes every value, the interrupt goes on, and other people's values stay."""
    zone_a = make_zone(admin, 'a.test')
    make_zone(admin, 'b.test')
    admin.change_resource_record_sets(HostedZoneId=zone_a, ChangeBatch={'Changes': [{
        'Action': 'UPSERT', 'ResourceRecordSet': {
            'Name': '_acme-challenge.www.a.test', 'Type': 'TXT', 'TTL': 300,
            'ResourceRecords': [{'Value': '"not-ours"'}]}}]})
    dns = solver()
    written = {}

    def stop_now(**_kwargs):
        written.update(all_txt(admin))
        os.kill(os.getpid(), signal.SIGTERM)

    dns.records.client.meta.events.register('before-send.route53.GetChange', stop_now)
    items = items_for(('cert-a', 'www.a.test', 'value-a'), ('cert-b', 'www.b.test', 'value-b'))
    with pytest.raises(Terminated):
        with terminate_as_interrupt():
            try:
                dns.present(items)
            finally:
                dns.cleanup()
    assert written == {'_acme-challenge.www.a.test': {'not-ours', 'value-a'},
                       '_acme-challenge.www.b.test': {'value-b'}}
    assert all_txt(admin) == {'_acme-challenge.www.a.test': {'not-ours'}}
    assert dns.cleanup_errors == []


def test_the_dns_wait_reports_its_phases(admin, solver):
    make_zone(admin, 'a.test')
    timings = PhaseTimings()
    dns = solver(timings=timings)
    try:
        assert dns.present(items_for(('cert-a', 'www.a.test', 'value-a'))) == {}
    finally:
        dns.cleanup()
    seconds = timings.as_dict()
    assert list(seconds) == ['dns_zones', 'dns_write', 'dns_insync', 'dns_authoritative']
    assert all(value >= 0 for value in seconds.values())


def count_calls(client):
    """{operation name: calls}, counted as the solver's client sends them."""
    counts = {}
    lock = threading.Lock()

    def before(model, **_kwargs):
        with lock:
            counts[model.name] = counts.get(model.name, 0) + 1

    def params(params, **_kwargs):
        if params.get('StartRecordType') == 'CNAME':
            with lock:
                counts['CNAME reads'] = counts.get('CNAME reads', 0) + 1

    client.meta.events.register('before-call.route53', before)
    client.meta.events.register('before-parameter-build.route53.ListResourceRecordSets', params)
    return counts


def test_zones_looked_up_ahead_are_not_asked_for_again(admin, solver):
    zone_a = make_zone(admin, 'a.test')
    zone_b = make_zone(admin, 'b.test')
    # app.a.test hands its challenge to b.test (CNAME delegation).
    admin.change_resource_record_sets(HostedZoneId=zone_a, ChangeBatch={'Changes': [{
        'Action': 'CREATE', 'ResourceRecordSet': {
            'Name': '_acme-challenge.app.a.test.', 'Type': 'CNAME', 'TTL': 60,
            'ResourceRecords': [{'Value': 'app.acme.b.test.'}]}}]})
    specs = [CertificateSpec('app', ['*.app.a.test', 'app.a.test']),
             CertificateSpec('www', ['www.b.test']),
             CertificateSpec('lost', ['www.nowhere.test'])]
    dns = solver()
    counts = count_calls(dns.records.client)
    dns.prepare(specs)          # never raises, even for a name no zone holds
    looked_up = dict(counts)
    assert looked_up.get('ListHostedZones') == 1
    items = [(specs[0], Challenge('_acme-challenge.app.a.test', 'v-wild')),
             (specs[0], Challenge('_acme-challenge.app.a.test', 'v-apex')),
             (specs[1], Challenge('_acme-challenge.www.b.test', 'v-www')),
             (specs[2], Challenge('_acme-challenge.www.nowhere.test', 'v-lost'))]
    try:
        failures = dns.present(items)
        assert all_txt(admin) == {'app.acme.b.test': {'v-wild', 'v-apex'}, '_acme-challenge.www.b.test': {'v-www'}}
    finally:
        dns.cleanup()
    assert sorted(failures) == ['lost']
    assert 'www.nowhere.test' in str(failures['lost'])
    # present() asked for no zone and followed no CNAME again, except for the name that failed.
    assert counts.get('ListHostedZones') == looked_up['ListHostedZones']
    assert counts.get('GetHostedZone') == looked_up.get('GetHostedZone')
    assert counts['CNAME reads'] == looked_up['CNAME reads']
    assert all_txt(admin) == {}


def test_a_small_zone_is_listed_once_per_step_not_read_name_by_name(admin, solver):
    make_zone(admin, 'a.test')
    specs = [CertificateSpec('c%d' % i, ['*.c%d.a.test' % i, 'c%d.a.test' % i]) for i in range(6)]
    dns = solver()
    counts = count_calls(dns.records.client)
    dns.prepare(specs)
    # Six names (a wildcard and its apex share one) in one small zone: the zone list and one
    # listing of its records for all the CNAME lookups. The name servers to ask are given,
    # so the zone's own (GetHostedZone) are not asked for.
    assert counts == {'ListHostedZones': 1, 'ListResourceRecordSets': 1}
    items = [(spec, Challenge('_acme-challenge.%s' % spec.domains[1], 'v-%s-%d' % (spec.name, n)))
             for spec in specs for n in range(2)]
    try:
        assert dns.present(items) == {}
        assert len(all_txt(admin)) == 6
    finally:
        dns.cleanup()
    assert all_txt(admin) == {}
    # Writing and removing: one listing (the re-read) and one change each; no zone lookup again.
    assert (counts['ListHostedZones'], counts.get('GetHostedZone'), counts['ListResourceRecordSets'],
            counts['ChangeResourceRecordSets']) == (1, None, 3, 2)
    assert 'CNAME reads' not in counts


def test_a_large_zone_is_read_name_by_name(admin, solver, monkeypatch):
    zone_id = make_zone(admin, 'a.test')
    # Foreign values on one of our names: kept, whichever way the zone is read.
    admin.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={'Changes': [{
        'Action': 'CREATE', 'ResourceRecordSet': {
            'Name': '_acme-challenge.c0.a.test.', 'Type': 'TXT', 'TTL': 300,
            'ResourceRecords': [{'Value': '"theirs"'}]}}]})
    # One record set a page: listing this zone would take more requests than three reads.
    monkeypatch.setattr(route53, '_PAGE', 1)
    specs = [CertificateSpec('c%d' % i, ['c%d.a.test' % i]) for i in range(3)]
    dns = solver()
    counts = count_calls(dns.records.client)
    dns.prepare(specs)
    assert counts.get('CNAME reads') == 3
    items = [(spec, Challenge('_acme-challenge.%s' % spec.domains[0], 'v-' + spec.name)) for spec in specs]
    try:
        assert dns.present(items) == {}
        assert all_txt(admin)['_acme-challenge.c0.a.test'] == {'theirs', 'v-c0'}
    finally:
        dns.cleanup()
    assert all_txt(admin) == {'_acme-challenge.c0.a.test': {'theirs'}}
    # 3 CNAME reads, then 3 TXT reads to write and 3 to remove.
    assert counts['ListResourceRecordSets'] == 9


def test_without_a_name_server_override_each_zone_is_asked_for_its_name_servers(admin, aws_options):
    make_zone(admin, 'a.test')
    make_zone(admin, 'b.test')
    dns = dns01.Route53Dns01Solver(aws_options)
    counts = count_calls(dns.records.client)
    dns.prepare([CertificateSpec('a', ['x.a.test', 'y.a.test']), CertificateSpec('b', ['x.b.test'])])
    assert counts['GetHostedZone'] == 2
    assert all(zone.nameservers for zone in dns.records.zones._by_id.values())
