# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Propagation checks against a real DNS server answering from moto's Route53 state."""

import socket
import threading
import time
import uuid

import dns.message
import dns.query
import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import route53_client
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._dns.propagation import (
    authoritative_servers,
    check_nameserver_entries,
    query_txt,
    wait_for_txt,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    ConfigurationError,
    PropagationTimeout,
)
from ansible_collections.autotls.acme.plugins.module_utils._dns.route53 import (
    HostedZone,
    Route53Zones,
    TxtRecords,
)


@pytest.fixture
def txt(aws_options):
    client = route53_client(aws_options)
    return TxtRecords(client, Route53Zones(client))


@pytest.fixture
def zone(moto, txt):
    moto.client('route53').create_hosted_zone(Name='example.com', CallerReference=uuid.uuid4().hex)
    return txt.zones.find_zone('example.com')


@pytest.fixture
def servers(route53_dns):
    return authoritative_servers(None, override=[route53_dns.address])


def test_override_entries():
    assert authoritative_servers(None, override=['127.0.0.1:5353', 'localhost', '[::1]:5300', '::1']) == [
        ('127.0.0.1', 5353), ('127.0.0.1', 53), ('::1', 5300), ('::1', 53)]
    assert authoritative_servers(None, override='127.0.0.2') == [('127.0.0.2', 53)]
    with pytest.raises(ConfigurationError, match='dns_servers: bad port'):
        authoritative_servers(None, override=['127.0.0.1:dns'])


@pytest.mark.parametrize('entry', ['127.0.0.1:0', '127.0.0.1:65536', '[::1]:-1', 'ns1:x', ':53'])
def test_bad_name_server_entries_are_refused_naming_the_option(entry):
    with pytest.raises(ConfigurationError) as err:
        check_nameserver_entries(['127.0.0.1', entry])
    assert str(err.value).startswith('dns_servers: ') and repr(entry) in str(err.value)
    check_nameserver_entries(['127.0.0.1:1', '[::1]:65535', 'ns1.example.net'])


def test_zone_name_servers_are_resolved():
    zone = HostedZone('Z1', 'example.com', nameservers=['localhost', '127.0.0.9'])
    assert authoritative_servers(zone) == [('127.0.0.1', 53), ('127.0.0.9', 53)]
    with pytest.raises(ConfigurationError, match='No name servers known for zone example.com'):
        authoritative_servers(HostedZone('Z1', 'example.com', nameservers=[]))
    with pytest.raises(ConfigurationError, match='Could not resolve any of the name servers of zone '
                                                 'example.com: ns1.nonexistent.invalid'):
        authoritative_servers(HostedZone('Z1', 'example.com', nameservers=['ns1.nonexistent.invalid']))


def test_route53_zone_has_name_servers(zone):
    assert len(zone.nameservers) == 4


def test_propagation_success_with_other_values_present(txt, zone, servers, route53_dns):
    name = '_acme-challenge.example.com'
    txt.ensure(name, present={'someone-elses'})
    handle = txt.add({name: {'tok-wildcard', 'tok-apex'}, '_acme-challenge.www.example.com': {'tok-www'}})
    wait_for_txt(handle.values_by_name(),
                 {n: servers for n in handle.values_by_name()}, Deadline(10))
    assert query_txt(name, servers[0]) == {'someone-elses', 'tok-wildcard', 'tok-apex'}
    txt.remove(handle)
    assert query_txt(name, servers[0]) == {'someone-elses'}


def test_large_answer_falls_back_to_tcp(txt, zone, servers):
    """Answers over 512 octets come back truncated over UDP; the check retries over TCP."""
    values = {('%02d-' % i) + 'v' * 300 for i in range(4)}
    txt.add({'big.example.com': values})
    with pytest.raises(dns.message.Truncated):
        dns.query.udp(dns.message.make_query('big.example.com', 'TXT'), servers[0][0],
                      timeout=2, port=servers[0][1], raise_on_truncation=True)
    wait_for_txt({'big.example.com': values}, {'big.example.com': servers}, Deadline(10))
    assert query_txt('big.example.com', servers[0]) == values


def test_propagation_waits_for_a_late_value(txt, zone, servers):
    name = '_acme-challenge.late.example.com'

    def later():
        time.sleep(0.6)
        txt.add({name: {'late'}})

    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    try:
        wait_for_txt({name: {'late'}}, {name: servers}, Deadline(15))
    finally:
        thread.join()
    assert time.monotonic() - started >= 0.6


def test_propagation_timeout_says_what_is_missing(txt, zone, servers, route53_dns):
    txt.add({'_acme-challenge.example.com': {'present'}})
    started = time.monotonic()
    with pytest.raises(PropagationTimeout) as err:
        wait_for_txt({'_acme-challenge.example.com': {'present', 'absent-value'},
                      '_acme-challenge.nope.example.com': {'other'}},
                     {'_acme-challenge.example.com': servers,
                      '_acme-challenge.nope.example.com': servers}, Deadline(1.5))
    assert time.monotonic() - started < 5
    msg = str(err.value)
    assert msg.startswith('Gave up after 2 s waiting for TXT records')
    assert "_acme-challenge.example.com at %s: missing 'absent-value'" % route53_dns.address in msg
    assert "_acme-challenge.nope.example.com at %s: missing 'other'" % route53_dns.address in msg
    assert "'present'" not in msg
    missing = {(m['name'], m['server']): m['missing_values'] for m in err.value.details['missing']}
    assert missing == {('_acme-challenge.example.com', route53_dns.address): ['absent-value'],
                       ('_acme-challenge.nope.example.com', route53_dns.address): ['other']}


def test_silent_server_is_reported(servers):
    # A UDP port nobody answers on (bound, never read): every query times out.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(('127.0.0.1', 0))
    try:
        dead = ('127.0.0.1', silent.getsockname()[1])
        with pytest.raises(PropagationTimeout) as err:
            wait_for_txt({'a.example.com': {'v'}}, {'a.example.com': [dead]}, Deadline(1),
                         query_timeout=0.3)
    finally:
        silent.close()
    assert 'a.example.com at 127.0.0.1:%d: missing' % dead[1] in str(err.value)
    assert 'Timeout' in str(err.value)


def test_no_servers_for_a_name_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match='No authoritative servers given for a.example.com'):
        wait_for_txt({'a.example.com': {'v'}}, {}, Deadline(1))
