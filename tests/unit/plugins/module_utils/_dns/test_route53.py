# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Route53 zones and TXT values, against a real moto server (no mocked API calls)."""

import os
import signal
import threading
import uuid

import pytest
from botocore.awsrequest import AWSResponse

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import (
    aws_argument_spec,
    route53_client,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.signals import Terminated, terminate_as_interrupt
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    ConfigurationError,
    DeadlineExceeded,
    DnsProviderError,
)
from ansible_collections.autotls.acme.plugins.module_utils._dns.route53 import (
    Route53Zones,
    TxtHandle,
    TxtRecords,
    change_txt,
    decode_txt_value,
    encode_txt_value,
    normalize_name,
)

VPC = {'VPCRegion': 'us-east-1', 'VPCId': 'vpc-0123456789abcdef0'}


# ---------------------------------------------------------------- helpers

@pytest.fixture
def admin(moto):
    """A plain boto3 client: the 'other people' changing Route53 around us."""
    return moto.client('route53')


@pytest.fixture
def client(aws_options):
    return route53_client(aws_options)


@pytest.fixture
def zones(client):
    return Route53Zones(client)


@pytest.fixture
def txt(client, zones):
    return TxtRecords(client, zones)


def make_zone(admin, name, private=False):
    kwargs = {}
    if private:
        kwargs = dict(HostedZoneConfig={'PrivateZone': True}, VPC=VPC)
    resp = admin.create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex, **kwargs)
    return resp['HostedZone']['Id'].rsplit('/', 1)[-1]


def upsert(admin, zone_id, name, rtype, values, ttl=300):
    admin.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={'Changes': [{
        'Action': 'UPSERT', 'ResourceRecordSet': {
            'Name': name, 'Type': rtype, 'TTL': ttl,
            'ResourceRecords': [{'Value': v} for v in values]}}]})


def rrsets(admin, zone_id, name, rtype='TXT'):
    pages = admin.get_paginator('list_resource_record_sets').paginate(HostedZoneId=zone_id)
    return [r for page in pages for r in page['ResourceRecordSets']
            if normalize_name(r['Name']) == name and r['Type'] == rtype]


def txt_values(admin, zone_id, name):
    found = rrsets(admin, zone_id, name)
    assert len(found) <= 1, found
    return {decode_txt_value(r['Value']) for r in found[0]['ResourceRecords']} if found else set()


# ---------------------------------------------------------------- aws.py

def test_argument_spec_hides_secrets():
    spec = aws_argument_spec()
    assert {k for k, v in spec.items() if v.get('no_log')} == {
        'aws_access_key', 'aws_secret_key', 'aws_session_token', 'aws_assume_role_external_id'}


def test_client_uses_botocore_retry_mode(client):
    assert client.meta.config.retries['mode'] == 'standard'
    assert client.meta.config.connect_timeout == 10


def test_client_with_assumed_role(aws_options, admin):
    zone_id = make_zone(admin, 'example.com')
    options = dict(aws_options, aws_assume_role_arn='arn:aws:iam::123456789012:role/dns-writer',
                   aws_assume_role_external_id='ext-1')
    client = route53_client(options)
    assert client.get_hosted_zone(Id=zone_id)['HostedZone']['Name'] == 'example.com.'


@pytest.mark.parametrize('kwargs,message', [
    (dict(max_attempts=0), 'max_attempts must be at least 1, got 0'),
    (dict(connect_timeout=0), 'connect_timeout must be at least 0.1 seconds, got 0'),
    (dict(read_timeout=-1), 'read_timeout must be at least 0.1 seconds, got -1'),
])
def test_client_settings_out_of_range_are_named(aws_options, kwargs, message):
    with pytest.raises(ConfigurationError) as err:
        route53_client(aws_options, **kwargs)
    assert str(err.value) == message


def test_half_a_key_pair_is_a_configuration_error(aws_options):
    with pytest.raises(ConfigurationError, match='together'):
        route53_client(dict(aws_options, aws_secret_key=None))


# ---------------------------------------------------------------- zones

def test_longest_suffix_wins(admin, zones):
    parent = make_zone(admin, 'example.com')
    child = make_zone(admin, 'qa1.example.com')
    assert zones.find_zone('_acme-challenge.app1.qa1.example.com').id == child
    assert zones.find_zone('qa1.example.com.').id == child
    assert zones.find_zone('_acme-challenge.example.com').id == parent
    # A suffix must end at a label boundary.
    assert zones.find_zone('notqa1.example.com').id == parent
    zone = zones.find_zone('APP.QA1.Example.COM')
    assert (zone.name, zone.private) == ('qa1.example.com', False)
    assert zone.nameservers and all('.' in ns for ns in zone.nameservers)


def test_explicit_zone_id_wins(admin, zones):
    parent = make_zone(admin, 'example.com')
    make_zone(admin, 'qa1.example.com')
    assert zones.find_zone('x.qa1.example.com', zone_id='/hostedzone/' + parent).id == parent
    with pytest.raises(ConfigurationError, match='not inside Route53 hosted zone'):
        zones.find_zone('x.example.org', zone_id=parent)
    with pytest.raises(ConfigurationError, match='does not exist'):
        zones.find_zone('x.example.com', zone_id='ZNOSUCHZONE')


def test_public_preferred_unless_private_asked(admin, zones):
    public = make_zone(admin, 'example.com')
    private = make_zone(admin, 'qa1.example.com', private=True)
    assert zones.find_zone('a.qa1.example.com').id == public
    assert zones.find_zone('a.qa1.example.com', private=True).id == private
    assert zones.find_zone('a.qa1.example.com', private=False).id == public
    # Only a private zone holds it: used when nothing was asked.
    only_private = make_zone(admin, 'corp.internal', private=True)
    assert Route53Zones(zones.client).find_zone('a.corp.internal').id == only_private


def test_no_zone_is_a_clear_error(admin, zones):
    make_zone(admin, 'example.com')
    with pytest.raises(ConfigurationError) as err:
        zones.find_zone('_acme-challenge.app.example.org')
    msg = str(err.value)
    assert 'No Route53 hosted zone' in msg
    assert '_acme-challenge.app.example.org' in msg
    assert 'example.com' in msg and 'create one or set zone_id' in msg
    assert err.value.details['zones_seen'] == ['example.com']


def test_duplicate_zone_names_need_zone_id(admin, zones):
    make_zone(admin, 'example.com')
    make_zone(admin, 'example.com')
    with pytest.raises(ConfigurationError, match='set zone_id'):
        zones.find_zone('a.example.com')


def test_zone_list_is_paginated_and_cached(admin, zones):
    for i in range(105):
        make_zone(admin, 'filler%03d.example.net' % i)
    last = make_zone(admin, 'zzz.example.org')
    assert zones.find_zone('a.zzz.example.org').id == last
    assert len(zones.all_zones()) == 106
    later = make_zone(admin, 'later.example.org')
    # Cached for this instance: a zone made afterwards is not seen.
    with pytest.raises(ConfigurationError) as err:
        zones.find_zone('x.later.example.org')
    assert 'and 86 more' in str(err.value) and err.value.details['zones_total'] == 106
    assert 'zzz.example.org' in err.value.details['zones_seen'][:1]
    assert Route53Zones(zones.client).find_zone('x.later.example.org').id == later


# ---------------------------------------------------------------- CNAME delegation

def test_cname_delegation_is_followed(admin, zones, txt):
    main = make_zone(admin, 'example.com')
    delegated = make_zone(admin, 'acme-delegate.net')
    upsert(admin, main, '_acme-challenge.app.example.com', 'CNAME', ['app.acme-delegate.net'])
    name, zone = zones.resolve_challenge_name('_acme-challenge.app.example.com')
    assert (name, zone.id) == ('app.acme-delegate.net', delegated)
    # Without a CNAME the name stays where it is.
    other, other_zone = zones.resolve_challenge_name('_acme-challenge.other.example.com')
    assert (other, other_zone.id) == ('_acme-challenge.other.example.com', main)

    handle = txt.add({name: {'tok'}}, zone_for={name: zone})
    assert txt_values(admin, delegated, 'app.acme-delegate.net') == {'tok'}
    assert rrsets(admin, main, '_acme-challenge.app.example.com', 'TXT') == []
    txt.remove(handle)
    assert txt_values(admin, delegated, 'app.acme-delegate.net') == set()


def test_cname_chain_loop_and_dead_end(admin, zones):
    zone = make_zone(admin, 'example.com')
    upsert(admin, zone, 'a.example.com', 'CNAME', ['b.example.com'])
    upsert(admin, zone, 'b.example.com', 'CNAME', ['a.example.com.'])
    upsert(admin, zone, 'c.example.com', 'CNAME', ['c.elsewhere.org'])
    with pytest.raises(ConfigurationError, match='CNAME loop'):
        zones.resolve_challenge_name('a.example.com')
    with pytest.raises(ConfigurationError, match='c.elsewhere.org, which no Route53 hosted zone holds'):
        zones.resolve_challenge_name('c.example.com')


# ---------------------------------------------------------------- TXT values

def test_two_values_on_one_name(admin, txt):
    """A wildcard and its apex share _acme-challenge.<domain>: two values, one record set."""
    zone = make_zone(admin, 'example.com')
    name = '_acme-challenge.example.com'
    handle = txt.add({name: {'token-for-wildcard', 'token-for-apex'}}, ttl=60)
    found = rrsets(admin, zone, name)
    assert len(found) == 1 and found[0]['TTL'] == 60
    assert txt_values(admin, zone, name) == {'token-for-wildcard', 'token-for-apex'}
    assert handle.held == {zone: {name: {'token-for-wildcard', 'token-for-apex'}}}
    assert handle.change_ids
    txt.wait_insync(handle.change_ids, Deadline(10))
    txt.remove(handle)
    assert rrsets(admin, zone, name) == []


def test_unrelated_value_survives_add_and_remove(admin, txt):
    zone = make_zone(admin, 'example.com')
    name = '_acme-challenge.example.com'
    upsert(admin, zone, name, 'TXT', ['"someone-elses"', '"shared"'], ttl=300)
    # "shared" is already there: not ours, never removed.
    handle = txt.add({name: {'ours', 'shared'}})
    assert txt_values(admin, zone, name) == {'someone-elses', 'shared', 'ours'}
    assert handle.values_by_name() == {name: {'ours'}}
    txt.remove(handle)
    assert txt_values(admin, zone, name) == {'someone-elses', 'shared'}
    # Their values keep their exact encoding.
    assert sorted(r['Value'] for r in rrsets(admin, zone, name)[0]['ResourceRecords']) == \
        ['"shared"', '"someone-elses"']


def test_nothing_to_add_writes_nothing(admin, txt):
    zone = make_zone(admin, 'example.com')
    upsert(admin, zone, 'a.example.com', 'TXT', ['"v"'], ttl=300)
    handle = txt.add({'a.example.com': {'v'}}, ttl=60)
    assert not handle and handle.change_ids == []
    assert rrsets(admin, zone, 'a.example.com')[0]['TTL'] == 300


def test_remove_twice_is_harmless(admin, txt):
    zone = make_zone(admin, 'example.com')
    name = '_acme-challenge.www.example.com'
    handle = txt.add({name: {'v1'}})
    assert txt.remove(handle)
    assert rrsets(admin, zone, name) == []
    assert txt.remove(handle) == []
    assert txt.remove(None) == []
    assert not handle


def test_remove_after_value_already_gone(admin, txt):
    zone = make_zone(admin, 'example.com')
    handle = txt.add({'a.example.com': {'mine'}})
    upsert(admin, zone, 'a.example.com', 'TXT', ['"theirs"'], ttl=120)  # replaced by someone
    assert txt.remove(handle) == []
    assert txt_values(admin, zone, 'a.example.com') == {'theirs'}
    assert not handle


def test_names_in_two_zones_in_one_add(admin, txt):
    one = make_zone(admin, 'example.com')
    two = make_zone(admin, 'example.org')
    names = {
        '_acme-challenge.example.com': {'a1'},
        '_acme-challenge.www.example.com': {'a2'},
        '_acme-challenge.example.org': {'b1', 'b2'},
    }
    handle = txt.add(names)
    assert len(handle.change_ids) == 2  # one ChangeBatch per zone
    assert txt_values(admin, one, '_acme-challenge.example.com') == {'a1'}
    assert txt_values(admin, one, '_acme-challenge.www.example.com') == {'a2'}
    assert txt_values(admin, two, '_acme-challenge.example.org') == {'b1', 'b2'}
    assert set(handle.held) == {one, two}
    assert len(txt.remove(handle)) == 2
    for zone, name in ((one, '_acme-challenge.example.com'), (one, '_acme-challenge.www.example.com'),
                       (two, '_acme-challenge.example.org')):
        assert rrsets(admin, zone, name) == []


def test_partial_failure_is_cleaned_up_by_remove(admin, zones, txt):
    good = make_zone(admin, 'example.com')
    other = make_zone(admin, 'example.org')
    handle = TxtHandle()
    with pytest.raises(DnsProviderError) as err:
        try:
            # The second zone is wrong for the name: Route53 refuses that batch.
            txt.add({'a.example.com': {'x'}, 'b.example.net': {'y'}}, handle=handle,
                    zone_for={'b.example.net': zones.get_zone(other)})
        finally:
            assert handle.values_by_name() == {'a.example.com': {'x'}}
            txt.remove(handle)
    msg = str(err.value)
    assert msg.startswith('Failed to add TXT values b.example.net in zone example.org')
    assert 'InvalidChangeBatch' in msg
    assert err.value.details['zone_id'] == other
    assert rrsets(admin, good, 'a.example.com') == []


def test_concurrent_handles_in_threads(admin, client, zones):
    zone = make_zone(admin, 'example.com')
    name = '_acme-challenge.example.com'
    upsert(admin, zone, name, 'TXT', ['"keep"'])
    handles, errors = {}, []

    def work(i):
        try:
            handles[i] = TxtRecords(client, zones).add({name: {'v%d' % i}})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert txt_values(admin, zone, name) == {'keep'} | {'v%d' % i for i in range(12)}

    threads = [threading.Thread(target=TxtRecords(client, zones).remove, args=(handles[i],))
               for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert txt_values(admin, zone, name) == {'keep'}


def test_a_value_already_there_is_not_taken_over(admin, txt):
    """A second add of a value that is there already holds nothing: its remove leaves it."""
    zone = make_zone(admin, 'example.com')
    first = txt.add({'a.example.com': {'same'}})
    second = txt.add({'a.example.com': {'same'}})
    assert first.values_by_name() == {'a.example.com': {'same'}}
    assert not second and second.change_ids == []
    assert txt.remove(second) == []
    assert txt_values(admin, zone, 'a.example.com') == {'same'}
    txt.remove(first)
    assert txt_values(admin, zone, 'a.example.com') == set()


DENIED = (
    b'<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    b'<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message>'
    b'</Error><RequestId>denied-1</RequestId></ErrorResponse>')

RACE_ERROR = (
    b'<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    b'<Error><Type>Sender</Type><Code>InvalidChangeBatch</Code>'
    b'<Message>[Tried to delete resource record set but the values provided do not match]</Message>'
    b'</Error><RequestId>race-1</RequestId></ErrorResponse>')


class _Raw:
    """The raw body botocore reads an injected HTTP response from."""

    def __init__(self, body):
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


def test_concurrent_external_change_is_retried(admin, client, zones, moto):
    """Route53 refuses a batch built on a stale read: re-read and try again."""
    zone = make_zone(admin, 'example.com')
    name = 'a.example.com'
    outsider = moto.client('route53')
    calls = []

    def interfere(request, **_kwargs):
        calls.append(request.url)
        if len(calls) == 1:
            # Someone else writes between our read and our write; AWS then refuses our
            # batch with InvalidChangeBatch (moto does not notice, so answer for it).
            upsert(outsider, zone, name, 'TXT', ['"external"'], ttl=60)
            return AWSResponse(request.url, 400, {'Content-Type': 'text/xml'}, _Raw(RACE_ERROR))
        return None

    client.meta.events.register('before-send.route53.ChangeResourceRecordSets', interfere)
    handle = TxtRecords(client, zones).add({name: {'ours'}})
    client.meta.events.unregister('before-send.route53.ChangeResourceRecordSets', interfere)
    assert len(calls) == 2
    assert txt_values(admin, zone, name) == {'external', 'ours'}
    TxtRecords(client, zones).remove(handle)
    assert txt_values(admin, zone, name) == {'external'}


def test_refused_change_without_race_fails_at_once(admin, zones, txt):
    make_zone(admin, 'example.com')
    wrong = zones.find_zone('example.com')
    with pytest.raises(DnsProviderError) as err:
        txt.add({'x.example.org': {'v'}}, zone_for={'x.example.org': wrong})
    assert 'Failed to add TXT values x.example.org in zone example.com' in str(err.value)
    assert err.value.details['aws_error_code'] == 'InvalidChangeBatch'


def test_ensure_check_mode_writes_nothing(admin, txt):
    zone = make_zone(admin, 'example.com')
    change = txt.ensure('a.example.com', present={'v'}, ttl=60, check_mode=True)
    assert change.changed and change.before is None and change.after.values == ['v']
    assert rrsets(admin, zone, 'a.example.com') == []
    change = txt.ensure('a.example.com', present={'v'}, ttl=60)
    assert change.changed and change.change_id
    assert not txt.ensure('a.example.com', present={'v'}, ttl=60).changed
    assert txt.ensure('a.example.com', present={'v'}, ttl=120).changed
    change = txt.ensure('a.example.com', absent={'v'}, check_mode=True)
    assert change.changed and change.after is None
    assert txt_values(admin, zone, 'a.example.com') == {'v'}


# ---------------------------------------------------------------- quoting

QUOTING_CASES = [
    'plain-token_0123456789',
    'with "quotes" inside',
    'back\\slash and \\"both\\"',
    'x' * 256,
    'long ' + 'y' * 600 + ' end',
    'caf\u00e9 \u2713',
    '',
]


@pytest.mark.parametrize('value', QUOTING_CASES)
def test_encode_decode_round_trip(value):
    encoded = encode_txt_value(value)
    assert decode_txt_value(encoded) == value
    assert encoded.startswith('"') and encoded.endswith('"')


def test_long_values_are_split_into_255_octet_strings():
    encoded = encode_txt_value('a' * 600)
    assert encoded == '"%s" "%s" "%s"' % ('a' * 255, 'a' * 255, 'a' * 90)
    assert encode_txt_value('say "hi" \\o/') == r'"say \"hi\" \\o/"'
    assert encode_txt_value('\u00e9') == r'"\303\251"'


def test_decode_what_route53_may_hold():
    assert decode_txt_value('"a" "b"') == 'ab'
    assert decode_txt_value('unquoted') == 'unquoted'
    assert decode_txt_value(r'"\052 star"') == '* star'


def test_quoting_round_trip_through_route53(admin, txt):
    zone = make_zone(admin, 'example.com')
    values = set(QUOTING_CASES) - {''}
    handle = txt.add({'q.example.com': values})
    raw = [r['Value'] for r in rrsets(admin, zone, 'q.example.com')[0]['ResourceRecords']]
    assert r'"with \"quotes\" inside"' in raw
    assert '"%s" "x"' % ('x' * 255) in raw
    assert txt_values(admin, zone, 'q.example.com') == values
    txt.remove(handle)
    assert rrsets(admin, zone, 'q.example.com') == []


def test_wait_insync(txt, admin):
    make_zone(admin, 'example.com')
    handle = txt.add({'a.example.com': {'v'}})
    txt.wait_insync(handle.change_ids, Deadline(5))
    txt.wait_insync([], Deadline(5))


PENDING = (
    b'<?xml version="1.0"?>\n<GetChangeResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    b'<ChangeInfo><Id>/change/CPENDING</Id><Status>PENDING</Status>'
    b'<SubmittedAt>2024-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>')


def test_wait_insync_gives_up_at_the_deadline(client, txt):
    """moto is INSYNC at once; answer PENDING for it to see the waiter give up."""
    def pending(request, **_kwargs):
        return AWSResponse(request.url, 200, {'Content-Type': 'text/xml'}, _Raw(PENDING))

    client.meta.events.register('before-send.route53.GetChange', pending)
    try:
        with pytest.raises(DeadlineExceeded) as err:
            txt.wait_insync(['/change/CPENDING'], Deadline(1.5))
    finally:
        client.meta.events.unregister('before-send.route53.GetChange', pending)
    assert str(err.value) == ('Gave up after 2 s waiting for Route53 change /change/CPENDING '
                              'to become INSYNC (last status PENDING)')


# ---------------------------------------------------------------- route53_txt's change, interrupted

def test_sigterm_while_waiting_takes_back_what_this_change_added(admin, client, zones, txt):
    zone = make_zone(admin, 'example.com')
    upsert(admin, zone, 'a.example.com', 'TXT', ['"theirs"', '"both"'], ttl=300)
    seen = []

    def stop_now(**_kwargs):
        seen.append(txt_values(admin, zone, 'a.example.com'))
        os.kill(os.getpid(), signal.SIGTERM)

    client.meta.events.register('before-send.route53.GetChange', stop_now)
    with pytest.raises(Terminated) as err:
        with terminate_as_interrupt():
            change_txt(txt, 'a.example.com', zones.find_zone('a.example.com'), ['ours', 'both'],
                       ttl=300, wait_timeout=30)
    client.meta.events.unregister('before-send.route53.GetChange', stop_now)
    assert seen == [{'theirs', 'both', 'ours'}]
    # "both" was there before: not ours to remove.
    assert txt_values(admin, zone, 'a.example.com') == {'theirs', 'both'}
    assert err.value.cleanup_errors == []


def test_interrupted_change_that_cannot_be_taken_back_says_so(admin, client, zones, txt):
    make_zone(admin, 'example.com')
    calls = []

    def deny_second_write(request, **_kwargs):
        calls.append('write')
        if calls.count('write') > 1:
            return AWSResponse(request.url, 403, {'Content-Type': 'text/xml'}, _Raw(DENIED))
        return None

    client.meta.events.register('before-send.route53.GetChange',
                                lambda **_kw: os.kill(os.getpid(), signal.SIGTERM))
    client.meta.events.register('before-send.route53.ChangeResourceRecordSets', deny_second_write)
    with pytest.raises(Terminated) as err:
        with terminate_as_interrupt():
            change_txt(txt, 'a.example.com', zones.find_zone('a.example.com'), ['ours'], wait_timeout=30)
    assert len(err.value.cleanup_errors) == 1
    assert 'a.example.com' in err.value.cleanup_errors[0] and 'AccessDenied' in err.value.cleanup_errors[0]
