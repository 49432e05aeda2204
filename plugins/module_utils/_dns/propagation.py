# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Has a TXT value reached every authoritative server? Ask each one directly.

Route53 reports a change INSYNC once its own servers have it; a CA may still ask a
server that answers from an older copy (or, behind a CNAME delegation, a different
provider). Before telling the CA to validate, ask every authoritative server of the
zone for every expected value.
"""

from __future__ import annotations

import socket
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import poll
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    ConfigurationError,
    PropagationTimeout,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import PORT_RANGE

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

DEFAULT_QUERY_TIMEOUT = 2.0
_MAX_WORKERS = 16


def require_dnspython():
    """Raise a :class:`ConfigurationError` unless dnspython can be used.

    Call it before writing anything that a propagation check must then confirm.
    """
    if not HAS_DNSPYTHON:
        raise ConfigurationError(
            'The Python library dnspython is required to check the challenge records on the '
            'authoritative name servers; install it on the controller (or in the execution '
            'environment): pip install dnspython', exception=DNSPYTHON_IMPORT_ERROR)


def _split_host_port(entry, default_port, option='dns_servers'):
    """``'1.2.3.4:5353'``, ``'[::1]:53'``, ``'::1'``, ``'ns1.example.net'`` -> (host, port)."""
    entry = entry.strip()
    if entry.startswith('['):
        host, _sep, rest = entry[1:].partition(']')
        port = rest[1:] if rest.startswith(':') else ''
    elif entry.count(':') == 1:
        host, port = entry.split(':')
    else:
        host, port = entry, ''
    if not host:
        raise ConfigurationError('%s: empty name server entry %r; give host or host:port' % (option, entry),
                                 option=option)
    try:
        port = int(port) if port else default_port
    except ValueError:
        port = None
    if port is None or not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
        raise ConfigurationError(
            '%s: bad port in name server entry %r; the port must be between %d and %d'
            % (option, entry, PORT_RANGE[0], PORT_RANGE[1]), option=option)
    return host.rstrip('.') if not _is_ip(host) else host, port


def check_nameserver_entries(entries, option='dns_servers'):
    """Refuse badly written name server entries early, naming ``option``."""
    for entry in ([entries] if isinstance(entries, str) else entries or []):
        _split_host_port(entry, 53, option)


def _is_ip(host):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except (OSError, ValueError):
            pass
    return False


def _addresses(host):
    """IPv4 addresses of ``host``; IPv6 ones only when it has no IPv4 address."""
    if _is_ip(host):
        return [host]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_UDP)
    except (OSError, UnicodeError):
        return []
    v4 = [i[4][0] for i in infos if i[0] == socket.AF_INET]
    v6 = [i[4][0] for i in infos if i[0] == socket.AF_INET6]
    out = []
    for ip in v4 or v6:
        if ip not in out:
            out.append(ip)
    return out


def authoritative_servers(zone, override=None, port=53):
    """``[(ip, port)]`` of the servers to ask for names in ``zone``.

    ``override`` (list of ``"ip[:port]"``, ``"[v6]:port"`` or ``"host[:port]"``) replaces
    the zone's own name servers (``zone.nameservers``, a :class:`HostedZone` or anything
    with ``name``/``nameservers``), for split-horizon setups and tests.
    """
    if override:
        entries = [override] if isinstance(override, str) else list(override)
        source = 'the name server override'
    else:
        entries = list(getattr(zone, 'nameservers', None) or [])
        source = 'the name servers of zone %s' % getattr(zone, 'name', zone)
        if not entries:
            raise ConfigurationError('No name servers known for %s; set a name server override'
                                     % source[len('the name servers of '):])
    servers, unresolved = [], []
    for entry in entries:
        host, entry_port = _split_host_port(entry, port)
        ips = _addresses(host)
        if not ips:
            unresolved.append(host)
        for ip in ips:
            if (ip, entry_port) not in servers:
                servers.append((ip, entry_port))
    if not servers:
        raise ConfigurationError('Could not resolve any of %s: %s'
                                 % (source, ', '.join(unresolved)), unresolved=unresolved)
    return servers


def query_txt(fqdn, server, timeout=DEFAULT_QUERY_TIMEOUT):
    """The TXT values ``server`` (ip, port) answers for ``fqdn``: a set of text.

    No recursion is asked for; UDP, retried over TCP when the answer is truncated.
    Raises ``dns.exception.DNSException`` or ``OSError`` when the server does not answer.
    """
    ip, port = server
    qname = dns.name.from_text(fqdn)
    query = dns.message.make_query(qname, dns.rdatatype.TXT)
    query.flags &= ~dns.flags.RD
    response, _tcp = dns.query.udp_with_fallback(query, ip, timeout=timeout, port=port)
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise dns.exception.DNSException('%s answered %s' % (_server_text(server), dns.rcode.to_text(rcode)))
    values = set()
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.TXT and rrset.name == qname:
            for rdata in rrset:
                values.add(b''.join(rdata.strings).decode('utf-8', errors='backslashreplace'))
    return values


def _server_text(server):
    ip, port = server
    host = '[%s]' % ip if ':' in ip else ip
    return '%s:%d' % (host, port)


def wait_for_txt(expected, servers_by_fqdn, deadline, query_timeout=DEFAULT_QUERY_TIMEOUT,
                 first_delay=0.2, max_delay=5.0):
    """Wait until every server answers every expected value for every name.

    ``expected``: name -> set of values (other values may also be present);
    ``servers_by_fqdn``: name -> ``[(ip, port)]`` (see :func:`authoritative_servers`).
    A server that answered all values for a name is not asked again. On timeout raises
    :class:`PropagationTimeout` saying which names, values and servers were missing.
    """
    require_dnspython()
    pending = {}
    for fqdn, values in expected.items():
        name = fqdn.rstrip('.').lower()
        servers = servers_by_fqdn.get(fqdn) or servers_by_fqdn.get(name)
        if not servers:
            raise ConfigurationError('No authoritative servers given for %s' % name)
        for server in servers:
            pending[(name, tuple(server))] = set(values)
    if not pending:
        return
    last_seen = {}

    def check_one(key):
        name, server = key
        timeout = max(0.1, min(query_timeout, deadline.remaining() or 0.1))
        try:
            return key, query_txt(name, server, timeout), None
        except (dns.exception.DNSException, OSError, EOFError) as exc:
            return key, None, '%s: %s' % (type(exc).__name__, exc or 'no answer')

    def probe():
        keys = list(pending)
        with ThreadPoolExecutor(max_workers=min(_MAX_WORKERS, len(keys))) as pool:
            results = list(pool.map(check_one, keys))
        for key, answer, error in results:
            last_seen[key] = (answer, error)
            if answer is not None and pending[key] <= answer:
                del pending[key]
        return True if not pending else None

    try:
        poll(probe, deadline, 'TXT records on the authoritative name servers',
             first_delay=first_delay, max_delay=max_delay, error=PropagationTimeout)
    except PropagationTimeout:
        missing = []
        for (name, server), values in sorted(pending.items()):
            answer, error = last_seen.get((name, server), (None, 'not asked yet'))
            missing.append(dict(name=name, server=_server_text(server),
                                missing_values=sorted(values - (answer or set())), error=error))
        raise propagation_timeout(deadline.seconds, missing) from None


def propagation_timeout(seconds, missing):
    """The :class:`PropagationTimeout` for ``missing`` (entries as :func:`wait_for_txt` makes them).

    Callers waiting for several zones at once use it to tell each zone only its own names.
    """
    lines = ['%s at %s: missing %s%s' % (
        entry['name'], entry['server'], ', '.join(repr(v) for v in entry['missing_values']),
        ' (%s)' % entry['error'] if entry['error'] else '') for entry in missing]
    return PropagationTimeout(
        'Gave up after %.0f s waiting for TXT records on the authoritative name servers; '
        'still missing: %s' % (seconds, '; '.join(lines)), missing=list(missing))
