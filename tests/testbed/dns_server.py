# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An authoritative DNS server that answers from the live Route53 state in moto.

Every query reads the hosted zones and record sets over the Route53 API (no cache), so
what the API says now is what DNS says now: the ACME server validates DNS-01 against
exactly what a module wrote, and a propagation check sees the change at once.
"""

import re
import socketserver
import sys
import threading
import traceback

from dnslib import AAAA, CNAME, NS, QTYPE, RCODE, RR, SOA, TXT, A, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

from .ports import free_tcp_udp_port

MAX_CNAME_CHAIN = 8
# Queries reading the API at once: beyond the client's connection pool (64) urllib3
# throws connections away and moto gets no faster anyway.
MAX_CONCURRENT_READS = 32


def decode_name(name):
    """Route53 name -> lower-case FQDN with trailing dot (`\\052` and other octal escapes decoded)."""
    name = re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), str(name)).lower()
    return name if name.endswith('.') else name + '.'


def parse_txt_value(value):
    """One Route53 TXT value -> its character strings (bytes).

    Route53 stores TXT values quoted, possibly several strings in one value
    (`"part one" "part two"`), with `\\"`, `\\\\` and three-digit octal escapes; a bare
    word outside quotes is a string of its own, as in a zone file.
    """
    strings, i, n = [], 0, len(value)
    while i < n:
        if value[i].isspace():
            i += 1
            continue
        quoted = value[i] == '"'
        i += quoted
        buf = bytearray()
        while i < n:
            c = value[i]
            if quoted and c == '"':
                i += 1
                break
            if not quoted and c.isspace():
                break
            if c == '\\' and i + 1 < n:
                octal = value[i + 1:i + 4]
                if re.fullmatch(r'[0-7]{3}', octal):
                    buf.append(int(octal, 8))
                    i += 4
                    continue
                c = value[i + 1]
                i += 1
            buf += c.encode('utf-8')
            i += 1
        strings.append(bytes(buf))
    return strings


def _txt(value):
    # A DNS character-string holds 255 bytes at most: split longer ones rather than fail.
    chunks = []
    for s in parse_txt_value(value) or [b'']:
        chunks += [s[j:j + 255] for j in range(0, len(s), 255)] or [b'']
    return TXT(chunks)


def _soa(value):
    # Searched, not split: moto 5.2 stores the zone's SOA value as the repr of a dict
    # ("{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 ...'}").
    m = re.search(r"([^\s'{}]+)\s+([^\s'{}]+)((?:\s+\d+){5})", value)
    if not m:
        raise ValueError('unparseable SOA value %r' % value)
    return SOA(m.group(1), m.group(2), tuple(int(t) for t in m.group(3).split()))


RDATA = {
    'A': A, 'AAAA': AAAA, 'TXT': _txt, 'CNAME': CNAME, 'NS': NS, 'SOA': _soa,
}


def _in_zone(name, zone):
    return name == zone or name.endswith('.' + zone)


class Route53State:
    """Reads zones and record sets of one Route53 endpoint; shared by all server threads.

    Identical questions asked while one read is under way share that read ("single
    flight"): a CA checks each name from several vantage points at once, and moto answers
    one API call at a time, so a burst of identical reads would otherwise queue long enough
    for the CA's resolver to time out. Nothing is kept once the read is answered, so a
    question asked after a change always sees it.
    """

    def __init__(self, client):
        self.client = client  # boto3 clients are thread-safe
        self._flights = {}
        self._flights_lock = threading.Lock()

    def _remembered(self, key, compute):
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = {'done': threading.Event()}
        if not leader:
            flight['done'].wait(30)
            if 'value' in flight:
                return flight['value']
            return compute()        # the leader failed: ask for ourselves
        try:
            flight['value'] = compute()
            return flight['value']
        finally:
            with self._flights_lock:
                self._flights.pop(key, None)
            flight['done'].set()

    def zones(self):
        """[(name, id, private)] of every hosted zone."""
        return self._remembered(('zones',), self._zones)

    def _zones(self):
        out = []
        for page in self.client.get_paginator('list_hosted_zones').paginate():
            for z in page['HostedZones']:
                out.append((decode_name(z['Name']), z['Id'], z.get('Config', {}).get('PrivateZone', False)))
        return out

    @staticmethod
    def best_zone(zones, name):
        """The zone with the longest matching suffix; a public zone wins over a private one."""
        matches = [z for z in zones if _in_zone(name, z[0])]
        return max(matches, key=lambda z: (len(z[0]), not z[2]), default=None)

    def records(self, zone_id):
        """{name: {type: (ttl, [values])}} of a whole zone (all routing policies merged)."""
        return self._remembered(('records', zone_id), lambda: self._records(zone_id))

    def _records(self, zone_id):
        nodes = {}
        for page in self.client.get_paginator('list_resource_record_sets').paginate(HostedZoneId=zone_id):
            for rrset in page['ResourceRecordSets']:
                _merge(nodes.setdefault(decode_name(rrset['Name']), {}), rrset)
        return nodes

    def node(self, zone_id, name):
        """{type: (ttl, [values])} at exactly `name`, or None if it has no records."""
        return self._remembered(('node', zone_id, name), lambda: self._node(zone_id, name))

    def _node(self, zone_id, name):
        """{type: (ttl, [values])} at exactly `name`, or None if it has no records.

        Reads only a page starting at `name` (Route53 sorts by reversed labels, so the
        name's record sets come first): listing a zone of hundreds of records for every
        query is too slow when the CA checks 100+ names at once.
        """
        node = {}
        kwargs = {'HostedZoneId': zone_id, 'StartRecordName': name, 'MaxItems': '20'}
        while True:
            page = self.client.list_resource_record_sets(**kwargs)
            for rrset in page['ResourceRecordSets']:
                if decode_name(rrset['Name']) != name:
                    return node or None
                _merge(node, rrset)
            if not page['IsTruncated']:
                return node or None
            kwargs.update(StartRecordName=page['NextRecordName'], StartRecordType=page['NextRecordType'])


def _merge(node, rrset):
    values = [r['Value'] for r in rrset.get('ResourceRecords', [])]
    if values:  # alias records have none: nothing to serve here
        _ttl, old = node.get(rrset['Type'], (None, []))
        node[rrset['Type']] = (int(rrset.get('TTL', 300)), old + values)


def _lookup(nodes, name, zone):
    """Record types at `name`: exact, else synthesised from a wildcard; {} for an empty
    non-terminal; None when the name does not exist in the zone."""
    if name in nodes:
        return nodes[name]
    if any(n.endswith('.' + name) for n in nodes):
        return {}
    # Wildcard: `*.<closest encloser>` answers for names below an existing ancestor.
    labels = name.split('.')
    for i in range(1, len(labels)):
        ancestor = '.'.join(labels[i:])
        if not _in_zone(ancestor, zone):
            break
        if ancestor in nodes or any(n.endswith('.' + ancestor) for n in nodes):
            return nodes.get('*.' + ancestor)
    return None


class Route53Resolver(BaseResolver):
    """dnslib resolver: authoritative answers for every hosted zone in Route53."""

    def __init__(self, client, errors=None):
        self.state = Route53State(client)
        self.errors = errors  # None: sys.stderr as it is when the error happens
        self._reads = threading.BoundedSemaphore(MAX_CONCURRENT_READS)

    def resolve(self, request, handler):
        reply = request.reply(ra=0, aa=1)
        try:
            with self._reads:
                self._answer(reply, request.q.qname, request.q.qtype)
        except Exception:  # report it and answer SERVFAIL rather than leave the client waiting
            traceback.print_exc(file=self.errors or sys.stderr)
            reply = request.reply(ra=0, aa=0)
            reply.header.rcode = RCODE.SERVFAIL
        return reply

    def _answer(self, reply, qname, qtype):
        zones = self.state.zones()
        owner = DNSLabel(qname)
        name = decode_name(owner)
        zone = self.state.best_zone(zones, name)
        if zone is None:
            reply.header.aa = 0
            reply.header.rcode = RCODE.REFUSED
            return
        seen = set()
        for _hop in range(MAX_CNAME_CHAIN):
            seen.add(name)
            zone_name, zone_id, _private = zone
            node = self.state.node(zone_id, name)
            if node is None:
                # Slow path, needs the whole zone: empty non-terminal, wildcard, NXDOMAIN.
                node = _lookup(self.state.records(zone_id), name, zone_name)
            if node is None:
                reply.header.rcode = RCODE.NXDOMAIN
                self._add_soa(reply, zone)
                return
            wanted = list(node) if qtype == QTYPE.ANY else [QTYPE[qtype]]
            if any(t in node for t in wanted):
                for t in wanted:
                    self._add(reply.add_answer, owner, t, node.get(t))
                return
            if 'CNAME' not in node:
                self._add_soa(reply, zone)  # NOERROR, no data
                return
            self._add(reply.add_answer, owner, 'CNAME', node['CNAME'])
            # Chase the target when we are authoritative for it (this or another zone).
            owner = DNSLabel(node['CNAME'][1][0])
            name = decode_name(owner)
            zone = self.state.best_zone(zones, name)
            if zone is None or name in seen:
                return

    @staticmethod
    def _add(add, owner, rtype, ttl_values):
        if ttl_values is None or rtype not in RDATA:
            return
        ttl, values = ttl_values
        for value in values:
            add(RR(owner, getattr(QTYPE, rtype), ttl=ttl, rdata=RDATA[rtype](value)))

    def _add_soa(self, reply, zone):
        # The zone's SOA in the authority section makes a negative answer cacheable and
        # tells the client which zone answered.
        soa = (self.state.node(zone[1], zone[0]) or {}).get('SOA')
        self._add(reply.add_auth, DNSLabel(zone[0]), 'SOA', soa)


class _Handler(DNSHandler):
    def get_reply(self, data):
        # Truncate UDP answers to what the client can take (512, or its EDNS size),
        # so it retries over TCP like with a real server.
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        wire = reply.pack()
        if self.protocol == 'udp':
            limit = max([512] + [rr.rclass for rr in request.ar if rr.rtype == QTYPE.OPT])
            if len(wire) > limit:
                # dnslib's truncate() drops the question too, which dnspython rejects.
                short = request.reply(ra=0, aa=reply.header.aa)
                short.header.tc = 1
                short.header.rcode = reply.header.rcode
                wire = short.pack()
        return wire


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    # dnslib's own UDP server sets SO_REUSEADDR, which on Linux lets a second server
    # bind the same UDP port silently; we want a clash to fail loudly instead.
    allow_reuse_address = False
    daemon_threads = True


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Route53DnsServer:
    """UDP + TCP DNS server on 127.0.0.1:PORT answering from Route53 (moto) state.

    `client` is a boto3 route53 client (with endpoint_url pointing at moto).
    """

    def __init__(self, client, port=None, host='127.0.0.1', errors=None):
        self.host = host
        self.port = port or free_tcp_udp_port(host)
        self.errors = errors
        self.resolver = Route53Resolver(client, errors=errors)
        self._servers = []

    @property
    def address(self):
        return '%s:%d' % (self.host, self.port)

    def start(self):
        # Only malformed packets are worth a line; queries would flood the output.
        quiet = DNSLogger(log='error', prefix=False,
                          logf=lambda msg: print(msg, file=self.errors or sys.stderr))
        try:
            for server_class in (_UDPServer, _TCPServer):
                server = DNSServer(self.resolver, address=self.host, port=self.port,
                                   logger=quiet, handler=_Handler, server=server_class)
                self._servers.append(server)
                threading.Thread(target=server.server.serve_forever, args=(0.1,),
                                 name='dns-%s-%d' % (server_class.__name__, self.port),
                                 daemon=True).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        while self._servers:
            server = self._servers.pop().server
            server.shutdown()
            server.server_close()  # dnslib's stop() leaves the socket open

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
