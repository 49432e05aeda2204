# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Route53 hosted zones and TXT record sets, as DNS-01 needs them.

* :class:`Route53Zones` finds the hosted zone of a name (longest suffix) and follows
  ``_acme-challenge`` CNAMEs (delegation of the challenge to another zone).
* :class:`TxtRecords` adds and removes individual TXT *values* without disturbing the
  values somebody else keeps on the same name, and waits for changes to be INSYNC.

Nothing here fails a module: errors are raised from the ``errors`` family.
"""

from __future__ import annotations

import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import (
    BotoCoreError,
    ClientError,
    WaiterError,
    aws_error_code,
    aws_error_text,
    aws_failure,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    ConfigurationError,
    DeadlineExceeded,
    DnsProviderError,
)

# Route53 limits for one ChangeResourceRecordSets request (an UPSERT counts twice).
MAX_RECORDS_PER_BATCH = 1000
MAX_VALUE_CHARS_PER_BATCH = 32000
# RFC 1035: one <character-string> holds at most 255 octets.
MAX_TXT_STRING = 255
# Error codes Route53 answers when a change no longer matches the record set, which
# is what a concurrent writer causes; moto answers InvalidInput for a stale DELETE.
_CONFLICT_CODES = ('InvalidChangeBatch', 'InvalidInput')

# At most this many Route53 changes are waited for by separate threads at once.
_MAX_WAITERS = 16
# At most this many zones are named in a "no zone matches" message.
_MAX_ZONES_SHOWN = 20
_ESCAPE_RE = re.compile(r'\\([0-7]{3})')


# --------------------------------------------------------------------------- names

def normalize_name(name):
    """``'\\052.Example.COM.'`` -> ``'*.example.com'``: what we compare names by."""
    name = (name or '').strip()
    name = _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 8)), name)
    return name.rstrip('.').lower()


def normalize_zone_id(zone_id):
    """``'/hostedzone/Z123'`` -> ``'Z123'``."""
    return (zone_id or '').strip().rsplit('/', 1)[-1]


def _shared_labels(a, b):
    count = 0
    for x, y in zip(reversed(a.split('.')), reversed(b.split('.'))):
        if x != y:
            break
        count += 1
    return count


def _in_zone(fqdn, zone_name):
    return fqdn == zone_name or fqdn.endswith('.' + zone_name)


# ------------------------------------------------------------------ TXT quoting

def encode_txt_value(text):
    """A TXT value as Route53 stores it: quoted strings, each at most 255 octets.

    ``"`` and ``\\`` are escaped with a backslash; octets outside printable ASCII are
    written as Route53's three-digit *octal* escapes.
    """
    data = text.encode('utf-8')
    chunks = [data[i:i + MAX_TXT_STRING] for i in range(0, len(data), MAX_TXT_STRING)] or [b'']
    out = []
    for chunk in chunks:
        parts = []
        for octet in chunk:
            if octet in (0x22, 0x5c):
                parts.append('\\' + chr(octet))
            elif 0x20 <= octet <= 0x7e:
                parts.append(chr(octet))
            else:
                parts.append('\\%03o' % octet)
        out.append('"%s"' % ''.join(parts))
    return ' '.join(out)


def decode_txt_value(raw):
    """The text of a Route53 TXT value: its character-strings decoded and joined.

    Understands quoted and unquoted strings, ``\\X`` escapes and octal ``\\ddd``.
    """
    strings = []
    i, n = 0, len(raw)
    while i < n:
        if raw[i].isspace():
            i += 1
            continue
        quoted = raw[i] == '"'
        if quoted:
            i += 1
        buf = bytearray()
        while i < n:
            ch = raw[i]
            if quoted and ch == '"':
                i += 1
                break
            if not quoted and ch.isspace():
                break
            if ch == '\\' and i + 1 < n:
                octal = raw[i + 1:i + 4]
                if len(octal) == 3 and all(c in '01234567' for c in octal):
                    buf.append(int(octal, 8) & 0xff)
                    i += 4
                else:
                    buf.extend(raw[i + 1].encode('utf-8'))
                    i += 2
                continue
            buf.extend(ch.encode('utf-8'))
            i += 1
        strings.append(bytes(buf))
    return b''.join(strings).decode('utf-8', errors='backslashreplace')


# ------------------------------------------------------------------ zones

class HostedZone:
    """A Route53 hosted zone: ``id`` without the ``/hostedzone/`` prefix, ``name`` without dot."""

    def __init__(self, zone_id, name, private=False, nameservers=None, record_count=None):
        self.id = normalize_zone_id(zone_id)
        self.name = normalize_name(name)
        self.private = bool(private)
        self.nameservers = list(nameservers) if nameservers is not None else None
        # How many record sets Route53 said the zone had (None: not known); it only
        # chooses between reading names one by one and listing the zone.
        self.record_count = record_count

    @classmethod
    def from_api(cls, data):
        count = data.get('ResourceRecordSetCount')
        return cls(data['Id'], data['Name'], (data.get('Config') or {}).get('PrivateZone', False),
                   record_count=int(count) if count is not None else None)

    def contains(self, fqdn):
        return _in_zone(normalize_name(fqdn), self.name)

    def describe(self):
        return '%s (%s, %s)' % (self.name, self.id, 'private' if self.private else 'public')

    def as_dict(self):
        return dict(id=self.id, name=self.name, private=self.private,
                    nameservers=list(self.nameservers or []))

    def __eq__(self, other):
        return isinstance(other, HostedZone) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return 'HostedZone(%r, %r, private=%r)' % (self.id, self.name, self.private)


class Route53Zones:
    """Finds hosted zones; the zone list and answers are cached for this instance."""

    MAX_CNAME_DEPTH = 8

    def __init__(self, client, nameservers_needed=True):
        self.client = client
        # False when the caller asks its own servers (a name server override): a zone
        # found in the zone list is then used as listed, without a GetHostedZone for its
        # name servers (one request less per zone).
        self.nameservers_needed = nameservers_needed
        self._lock = threading.RLock()
        self._zones = None
        self._by_id = {}
        self._found = {}
        self._resolved = {}     # (fqdn, zone_id, private) -> (final fqdn, zone), this run
        self._cnames = {}       # (zone id, fqdn) -> CNAME record set or None, read ahead in bulk

    # -- listing

    def all_zones(self):
        """Every hosted zone of the account (paginated), as :class:`HostedZone`."""
        with self._lock:
            if self._zones is None:
                zones = []
                try:
                    for page in self.client.get_paginator('list_hosted_zones').paginate():
                        zones.extend(HostedZone.from_api(z) for z in page.get('HostedZones', []))
                except (BotoCoreError, ClientError) as exc:
                    raise aws_failure('list hosted zones', exc)
                self._zones = zones
            return list(self._zones)

    def get_zone(self, zone_id):
        """The zone with this id, name servers filled in."""
        zone_id = normalize_zone_id(zone_id)
        with self._lock:
            zone = self._by_id.get(zone_id)
            if zone is not None:
                return zone
            try:
                data = self.client.get_hosted_zone(Id=zone_id)
            except (BotoCoreError, ClientError) as exc:
                if aws_error_code(exc) in ('NoSuchHostedZone', 'InvalidInput'):
                    raise ConfigurationError(
                        'Route53 hosted zone %s does not exist (%s); check zone_id'
                        % (zone_id, aws_error_text(exc)), zone_id=zone_id)
                raise aws_failure('get hosted zone %s' % zone_id, exc, zone_id=zone_id)
            zone = HostedZone.from_api(data['HostedZone'])
            nameservers = (data.get('DelegationSet') or {}).get('NameServers') or []
            if not nameservers:
                rrset = self._read_rrset(zone, zone.name, 'NS')
                nameservers = [r['Value'] for r in (rrset or {}).get('ResourceRecords', [])]
            zone.nameservers = [normalize_name(ns) for ns in nameservers]
            self._by_id[zone.id] = zone
            return zone

    # -- choosing

    def find_zone(self, fqdn, zone_id=None, private=None):
        """The hosted zone a record ``fqdn`` belongs in.

        An explicit ``zone_id`` wins (the name must lie inside it). Otherwise the zone
        whose name is the longest suffix of ``fqdn``; ``private=None`` prefers public
        zones and falls back to private ones, ``True``/``False`` allows only that kind.
        """
        fqdn = normalize_name(fqdn)
        if not fqdn:
            raise ConfigurationError('An empty DNS name has no hosted zone')
        key = (fqdn, normalize_zone_id(zone_id) if zone_id else None, private)
        with self._lock:
            if key in self._found:
                return self._found[key]
            if zone_id:
                zone = self.get_zone(zone_id)
                if not zone.contains(fqdn):
                    raise ConfigurationError(
                        '%s is not inside Route53 hosted zone %s; set zone_id to the zone '
                        'that holds it' % (fqdn, zone.describe()), domain=fqdn, zone_id=zone.id)
            else:
                zone = self._choose(fqdn, private)
                if self.nameservers_needed:
                    zone = self.get_zone(zone.id)
            self._found[key] = zone
            return zone

    def _choose(self, fqdn, private):
        zones = self.all_zones()
        matching = [z for z in zones if _in_zone(fqdn, z.name)]
        if private is None:
            tiers = [[z for z in matching if not z.private], [z for z in matching if z.private]]
        else:
            tiers = [[z for z in matching if z.private == bool(private)]]
        for tier in tiers:
            if not tier:
                continue
            longest = max(len(z.name) for z in tier)
            best = [z for z in tier if len(z.name) == longest]
            if len(best) > 1:
                raise ConfigurationError(
                    'Several Route53 hosted zones are named %s (%s); set zone_id to the one '
                    'to use for %s' % (best[0].name, ', '.join(z.id for z in best), fqdn),
                    domain=fqdn, zone_ids=[z.id for z in best])
            return best[0]
        kind = {None: '', True: 'private ', False: 'public '}[private]
        # The closest zones first (most labels shared with fqdn): they are the likely typos.
        ranked = sorted(zones, key=lambda z: (-_shared_labels(fqdn, z.name), z.name))
        seen = ', '.join(z.describe() for z in ranked[:_MAX_ZONES_SHOWN]) or 'none'
        if len(ranked) > _MAX_ZONES_SHOWN:
            seen += ' and %d more' % (len(ranked) - _MAX_ZONES_SHOWN)
        raise ConfigurationError(
            'No %sRoute53 hosted zone contains %s (zones seen: %s); create one or set zone_id'
            % (kind, fqdn, seen), domain=fqdn,
            zones_seen=[z.name for z in ranked[:_MAX_ZONES_SHOWN]], zones_total=len(zones))

    # -- CNAME delegation

    def resolve_challenge_name(self, fqdn, zone_id=None, private=None):
        """Follow CNAMEs from ``fqdn`` inside Route53; return ``(final_fqdn, zone)``.

        With ``_acme-challenge.app.example.com CNAME app.acme.example.net`` the TXT value
        belongs at ``app.acme.example.net``, in that name's hosted zone. ``zone_id``
        applies to the first name only; targets are found by longest suffix. Answers
        are kept for the life of this instance (one run).
        """
        key = (normalize_name(fqdn), normalize_zone_id(zone_id) if zone_id else None, private)
        with self._lock:
            found = self._resolved.get(key)
        if found is not None:
            return found
        found = self._follow(key[0], zone_id, private)
        with self._lock:
            self._resolved[key] = found
        return found

    def resolve_many(self, names, workers=4):
        """Resolve ``[(fqdn, zone_id)]`` in ``workers`` threads; return ``{(fqdn, zone_id): error}``.

        The answers are kept for :meth:`resolve_challenge_name` (this instance only), so a
        caller can look names up early, while it waits for something else; a name that
        failed is looked up again (and fails with its message) when it is asked for.
        """
        pending = []
        with self._lock:
            for entry in names:
                key = (normalize_name(entry[0]), normalize_zone_id(entry[1]) if entry[1] else None, None)
                if entry not in pending and key not in self._resolved:
                    pending.append(entry)
        errors = {}
        if not pending:
            return errors
        self._read_cnames_ahead(pending)

        def one(entry):
            try:
                self.resolve_challenge_name(entry[0], zone_id=entry[1])
            except Exception as exc:  # pylint: disable=broad-except
                errors[entry] = exc

        if len(pending) == 1 or workers <= 1:
            for entry in pending:
                one(entry)
            return errors
        with ThreadPoolExecutor(max_workers=min(workers, len(pending))) as pool:
            list(pool.map(one, pending))
        return errors

    def _read_cnames_ahead(self, names):
        """Read the CNAMEs of many names with one listing per zone, where that takes fewer requests."""
        by_zone = {}
        for fqdn, zone_id in names:
            try:
                zone = self.find_zone(fqdn, zone_id=zone_id)
            except Exception:  # pylint: disable=broad-except
                continue        # asked again, and reported, name by name
            by_zone.setdefault(zone.id, (zone, []))[1].append(normalize_name(fqdn))
        for zone, zone_names in by_zone.values():
            if not lists_zone(zone, len(zone_names)):
                continue
            try:
                found = read_rrsets(self.client, zone, zone_names, 'CNAME')
            except Exception:  # pylint: disable=broad-except
                continue        # read again name by name: a bad record fails only its name
            with self._lock:
                self._cnames.update(((zone.id, name), rrset) for name, rrset in found.items())

    def _follow(self, name, zone_id, private):
        zone = self.find_zone(name, zone_id=zone_id, private=private)
        chain = [name]
        for _depth in range(self.MAX_CNAME_DEPTH):
            rrset = self._read_rrset(zone, name, 'CNAME')
            if not rrset or not rrset.get('ResourceRecords'):
                return name, zone
            target = normalize_name(rrset['ResourceRecords'][0]['Value'])
            if target in chain:
                raise ConfigurationError(
                    'CNAME loop while following %s: %s' % (chain[0], ' -> '.join(chain + [target])),
                    domain=chain[0], cname_chain=chain + [target])
            chain.append(target)
            try:
                zone = self.find_zone(target, private=private)
            except ConfigurationError as exc:
                raise ConfigurationError(
                    '%s is a CNAME to %s, which no Route53 hosted zone holds: %s'
                    % (chain[0], target, exc.msg), domain=chain[0], cname_chain=chain)
            name = target
        raise ConfigurationError(
            'More than %d CNAMEs while following %s: %s'
            % (self.MAX_CNAME_DEPTH, chain[0], ' -> '.join(chain)), domain=chain[0], cname_chain=chain)

    # -- raw reads

    def _read_rrset(self, zone, fqdn, rtype):
        """The plain (no routing policy) record set ``fqdn``/``rtype`` in ``zone``, or None."""
        if rtype == 'CNAME':
            key = (zone.id, normalize_name(fqdn))
            with self._lock:
                if key in self._cnames:
                    return self._cnames.pop(key)    # read ahead by this run: used once
        return read_rrset(self.client, zone, fqdn, rtype)


# ListResourceRecordSets answers at most this many record sets a page.
_PAGE = 300


def lists_zone(zone, count):
    """Whether listing ``zone`` takes fewer requests than reading ``count`` names one by one."""
    return count > 1 and zone.record_count is not None and zone.record_count // _PAGE + 1 < count


def read_rrsets(client, zone, names, rtype):
    """``{name: record set or None}``: the plain ``rtype`` record sets of ``names`` in ``zone``.

    Reads the whole zone (every page) when that takes fewer requests than one read per
    name, as the zone's record count says; else one read per name. Either way what is
    returned was read by this call. Route53 allows an account five requests a second:
    fifty names in a zone of a few hundred records cost one or two requests, not fifty.
    """
    names = [normalize_name(n) for n in names]
    names = [n for i, n in enumerate(names) if n not in names[:i]]
    if not lists_zone(zone, len(names)):
        return dict((name, read_rrset(client, zone, name, rtype)) for name in names)
    wanted = set(names)
    found = {}
    try:
        for page in client.get_paginator('list_resource_record_sets').paginate(HostedZoneId=zone.id):
            for rrset in page.get('ResourceRecordSets', []):
                name = normalize_name(rrset.get('Name'))
                if name in wanted and rrset.get('Type') == rtype:
                    found.setdefault(name, []).append(rrset)
    except (BotoCoreError, ClientError) as exc:
        raise aws_failure('read %s records %s in zone %s' % (rtype, ', '.join(names), zone.describe()), exc,
                          records=names, zone_id=zone.id)
    return dict((name, _plain(found.get(name), zone, name, rtype)) for name in names)


def _plain(found, zone, fqdn, rtype):
    """The one plain record set of ``found`` (record sets of one name and type), or None."""
    if not found:
        return None
    if any('SetIdentifier' in r or 'AliasTarget' in r for r in found):
        raise ConfigurationError(
            '%s record %s in zone %s uses a routing policy or alias; only simple record sets '
            'are supported' % (rtype, fqdn, zone.describe()), record=fqdn, zone_id=zone.id)
    return found[0]


def read_rrset(client, zone, fqdn, rtype):
    fqdn = normalize_name(fqdn)
    try:
        resp = client.list_resource_record_sets(
            HostedZoneId=zone.id, StartRecordName=fqdn + '.', StartRecordType=rtype, MaxItems='10')
    except (BotoCoreError, ClientError) as exc:
        raise aws_failure('read %s record %s in zone %s' % (rtype, fqdn, zone.describe()), exc,
                          record=fqdn, zone_id=zone.id)
    return _plain([r for r in resp.get('ResourceRecordSets', [])
                   if normalize_name(r.get('Name')) == fqdn and r.get('Type') == rtype], zone, fqdn, rtype)


# ------------------------------------------------------------------ TXT records

_ZONE_LOCKS = {}
_ZONE_LOCKS_GUARD = threading.Lock()


def _zone_lock(zone_id):
    with _ZONE_LOCKS_GUARD:
        lock = _ZONE_LOCKS.get(zone_id)
        if lock is None:
            lock = _ZONE_LOCKS[zone_id] = threading.RLock()
        return lock


class TxtRecordSet:
    """One TXT record set as read (or as it will be): ``raw`` keeps Route53's encoding."""

    def __init__(self, name, ttl, raw):
        self.name = normalize_name(name)
        self.ttl = int(ttl)
        self.raw = list(raw)

    @classmethod
    def from_api(cls, data):
        return cls(data['Name'], data.get('TTL', 300), [r['Value'] for r in data.get('ResourceRecords', [])])

    @property
    def values(self):
        return [decode_txt_value(r) for r in self.raw]

    def by_value(self):
        """decoded value -> raw value (first one wins when two encodings collide)."""
        out = {}
        for raw in self.raw:
            out.setdefault(decode_txt_value(raw), raw)
        return out

    def same_as(self, other):
        return (other is not None and self.ttl == other.ttl
                and sorted(self.raw) == sorted(other.raw))

    def as_dict(self):
        return dict(name=self.name, type='TXT', ttl=self.ttl, values=self.values)

    def __repr__(self):
        return 'TxtRecordSet(%r, ttl=%d, values=%r)' % (self.name, self.ttl, self.values)


class TxtHandle:
    """What one :meth:`TxtRecords.add` holds, so :meth:`TxtRecords.remove` removes just that.

    ``held`` maps zone id -> name -> values this handle wrote and so must remove.
    Values that were already in Route53 before (somebody else's) are never held.
    """

    def __init__(self):
        self.zones = {}
        self.held = {}
        self.change_ids = []

    def _hold(self, zone, name, value):
        self.zones[zone.id] = zone
        self.held.setdefault(zone.id, {}).setdefault(name, set()).add(value)

    def _release(self, zone_id, name, value):
        names = self.held.get(zone_id, {})
        values = names.get(name)
        if values is not None:
            values.discard(value)
            if not values:
                del names[name]
        if not names:
            self.held.pop(zone_id, None)

    def holds(self, zone_id, name, value):
        return value in self.held.get(zone_id, {}).get(name, ())

    def values_by_name(self):
        """name -> set of values held (all zones)."""
        out = {}
        for names in self.held.values():
            for name, values in names.items():
                out.setdefault(name, set()).update(values)
        return out

    def __bool__(self):
        return bool(self.held)


class TxtChange:
    """Outcome of :meth:`TxtRecords.ensure` for one name."""

    def __init__(self, zone, name, before, after, change_ids):
        self.zone = zone
        self.name = name
        self.before = before
        self.after = after
        self.change_ids = change_ids

    @property
    def changed(self):
        if self.before is None or self.after is None:
            return (self.before is None) != (self.after is None)
        return not self.before.same_as(self.after)

    @property
    def change_id(self):
        return self.change_ids[-1] if self.change_ids else None


class TxtRecords:
    """Adds and removes TXT values in Route53, value by value.

    Every read-modify-write of a zone runs under a per-zone lock shared by all
    instances in the process, and is retried on a fresh read when Route53 says the
    record set changed underneath (another writer outside this process).
    """

    CONFLICT_RETRIES = 4

    def __init__(self, client, zones):
        self.client = client
        self.zones = zones

    # -- public API

    def add(self, values_by_name, ttl=60, zone_for=None, handle=None):
        """Make every value of ``values_by_name`` (name -> set of text) present.

        Values already there (anybody's) stay, and stay theirs: only values this call
        wrote go into the handle. The union is UPSERTed, one ChangeBatch per zone
        (chunked at Route53's limits). Returns a :class:`TxtHandle` of what this call
        added. Pass ``handle`` to have it filled in as each batch lands, so a
        ``finally: remove(handle)`` cleans up after a partial failure too.
        ``zone_for`` (name -> :class:`HostedZone`) skips the zone search for names
        already resolved (see :meth:`Route53Zones.resolve_challenge_name`).
        """
        handle = TxtHandle() if handle is None else handle
        for zone, wanted in self._group(values_by_name, zone_for):
            with _zone_lock(zone.id):
                self._add_in_zone(zone, wanted, int(ttl), handle)
        return handle

    def remove(self, handle):
        """Remove exactly the values ``handle`` holds; return the change ids.

        Re-reads each record first; what remains is UPSERTed, an emptied record set is
        DELETEd with its exact current TTL and values. Safe to call twice, after a
        partial ``add`` and from a ``finally``. Every zone is tried; the failures are
        raised together at the end, and what stays in Route53 stays in ``handle``.
        """
        if handle is None:
            return []
        change_ids, errors = [], []
        for zone_id in list(handle.held):
            # One zone refusing does not keep the values of the others in place.
            try:
                with _zone_lock(zone_id):
                    change_ids.extend(self._remove_in_zone(handle.zones[zone_id], handle))
            except DnsProviderError as exc:
                errors.append(exc)
        handle.change_ids.extend(change_ids)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise DnsProviderError('; '.join(str(e) for e in errors),
                                   records=[r for e in errors for r in e.details.get('records', [])])
        return change_ids

    def _add_in_zone(self, zone, wanted, ttl, handle):
        def desired(current):
            plan = {}
            for name, values in wanted.items():
                cur = current.get(name)
                raw = cur.by_value() if cur else {}
                if cur is not None and set(values) <= set(raw):
                    plan[name] = cur  # all there already: leave TTL and all be
                    continue
                for value in values:
                    raw.setdefault(value, encode_txt_value(value))
                plan[name] = TxtRecordSet(name, ttl, list(raw.values()))
            return plan

        def committed(name, before, _after):
            had = set(before.by_value()) if before else set()
            for value in wanted[name]:
                if value not in had:
                    handle._hold(zone, name, value)

        _current, ids = self._apply(zone, sorted(wanted), desired, committed, 'add TXT values')
        handle.change_ids.extend(ids)

    def _remove_in_zone(self, zone, handle):
        mine = {name: set(values) for name, values in handle.held.get(zone.id, {}).items() if values}
        if not mine:
            return []

        def desired(current):
            plan = {}
            for name, values in mine.items():
                cur = current.get(name)
                keep = [raw for raw in cur.raw if decode_txt_value(raw) not in values] if cur else []
                plan[name] = TxtRecordSet(name, cur.ttl, keep) if keep else None
            return plan

        def committed(name, _before, _after):
            for value in mine[name]:
                handle._release(zone.id, name, value)

        current, ids = self._apply(zone, sorted(mine), desired, committed, 'remove TXT values')
        # Values that were already gone needed no change: done with them too.
        for name, values in mine.items():
            present = set(current[name].by_value()) if current.get(name) else set()
            for value in values - present:
                handle._release(zone.id, name, value)
        return ids

    def ensure(self, name, present=(), absent=(), ttl=None, zone=None, check_mode=False):
        """Make ``present`` values be there and ``absent`` values not, for one name.

        Other values are kept. ``ttl=None`` keeps the current TTL (60 for a new record).
        The record set is deleted when no value remains. In ``check_mode`` Route53 is
        read, not written. Returns a :class:`TxtChange`.
        """
        name = normalize_name(name)
        zone = zone or self.zones.find_zone(name)
        present = set(present)
        absent = set(absent) - present

        def desired(current):
            cur = current.get(name)
            raw = cur.by_value() if cur else {}
            for value in absent:
                raw.pop(value, None)
            for value in sorted(present):
                raw.setdefault(value, encode_txt_value(value))
            if not raw:
                return {name: None}
            new_ttl = int(ttl) if ttl is not None else (cur.ttl if cur else 60)
            return {name: TxtRecordSet(name, new_ttl, list(raw.values()))}

        with _zone_lock(zone.id):
            if check_mode:
                current = self._read_many(zone, [name])
                return TxtChange(zone, name, current.get(name), desired(current)[name], [])
            result = {}

            def committed(rname, before, after):
                result['after'] = after

            current, ids = self._apply(zone, [name], desired, committed, 'update TXT record')
            before = current.get(name)
            after = result['after'] if 'after' in result else before
            return TxtChange(zone, name, before, after, ids)

    def wait_insync(self, change_ids, deadline):
        """Wait until every change is INSYNC, within ``deadline`` (a :class:`Deadline`).

        The changes are waited for together; the first failure is raised once all
        waits are over. See :meth:`wait_insync_each`.
        """
        for error in self.wait_insync_each(change_ids, deadline).values():
            if error is not None:
                raise error

    def wait_insync_each(self, change_ids, deadline):
        """Wait for every change at the same time; return ``{change id: error or None}``.

        Each change is asked about with botocore's ``resource_record_sets_changed``
        waiter, one attempt at a time, with a delay derived from the time left. When the
        caller is interrupted (Ctrl-C, SIGTERM), the other waits stop at their next delay.
        """
        ids = []
        for change_id in change_ids or []:
            if change_id and change_id not in ids:
                ids.append(change_id)
        stop = threading.Event()
        if len(ids) <= 1:
            return {change_id: self._wait_one(change_id, deadline, ids, stop) for change_id in ids}
        pool = ThreadPoolExecutor(max_workers=min(_MAX_WAITERS, len(ids)))
        try:
            futures = [pool.submit(self._wait_one, change_id, deadline, ids, stop) for change_id in ids]
            return {change_id: future.result() for change_id, future in zip(ids, futures)}
        finally:
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _wait_one(self, change_id, deadline, ids, stop):
        """Wait for one change; return None when INSYNC (or stopped), else the error (not raised)."""
        waiter = self.client.get_waiter('resource_record_sets_changed')
        delay = min(15.0, max(1.0, deadline.remaining() / 20.0))
        while True:
            try:
                waiter.wait(Id=change_id, WaiterConfig={'Delay': delay, 'MaxAttempts': 1})
                return None
            except WaiterError as exc:
                last = getattr(exc, 'last_response', None) or {}
                if 'Error' in last:
                    return DnsProviderError(
                        'Failed to get Route53 change %s: %s: %s'
                        % (change_id, last['Error'].get('Code'), last['Error'].get('Message')),
                        change_id=change_id)
                status = (last.get('ChangeInfo') or {}).get('Status', 'unknown')
            except (BotoCoreError, ClientError) as exc:
                return aws_failure('get Route53 change %s' % change_id, exc, change_id=change_id)
            if deadline.expired():
                return DeadlineExceeded(
                    'Gave up after %.0f s waiting for Route53 change %s to become INSYNC '
                    '(last status %s)' % (deadline.seconds, change_id, status),
                    change_id=change_id, change_ids=list(ids))
            if stop.wait(min(delay, deadline.remaining())):
                return None

    # -- internals

    def _group(self, values_by_name, zone_for):
        grouped = {}
        zone_for = {normalize_name(k): v for k, v in (zone_for or {}).items()}
        for name, values in values_by_name.items():
            name = normalize_name(name)
            if isinstance(values, str):
                values = [values]
            zone = zone_for.get(name) or self.zones.find_zone(name)
            entry = grouped.setdefault(zone.id, (zone, {}))
            entry[1].setdefault(name, set()).update(values)
        return list(grouped.values())  # zones in the order their first name was given

    def _read_many(self, zone, names):
        found = read_rrsets(self.client, zone, names, 'TXT')
        return dict((name, TxtRecordSet.from_api(rrset) if rrset else None) for name, rrset in found.items())

    def _apply(self, zone, names, desired, committed, what):
        """Read, plan with ``desired(current)``, submit in chunks; retry on conflicts.

        ``committed(name, before, after)`` runs for each name once its batch landed.
        Returns ``(state read on the last attempt, change ids)``.
        """
        failed_on = None
        change_ids = []
        for attempt in range(self.CONFLICT_RETRIES + 1):
            current = self._read_many(zone, names)
            if failed_on is not None:
                before_state, exc, chunk_names = failed_on
                if all(_same(current.get(n), before_state.get(n)) for n in names):
                    # Nothing moved: the change itself is wrong, not a race.
                    raise self._failure(what, zone, chunk_names, exc)
            plan = desired(current)
            changes = []
            for name in names:
                change = _change_for(name, current.get(name), plan.get(name))
                if change is not None:
                    changes.append((name, change))
            if not changes:
                return current, change_ids
            try:
                for chunk in _chunks(changes):
                    chunk_names = [n for n, _c in chunk]
                    try:
                        resp = self.client.change_resource_record_sets(
                            HostedZoneId=zone.id,
                            ChangeBatch={'Comment': 'autotls.acme: %s' % what,
                                         'Changes': [c for _n, c in chunk]})
                    except ClientError as exc:
                        if aws_error_code(exc) in _CONFLICT_CODES and attempt < self.CONFLICT_RETRIES:
                            raise _Conflict(exc, chunk_names)
                        raise self._failure(what, zone, chunk_names, exc)
                    except BotoCoreError as exc:
                        raise self._failure(what, zone, chunk_names, exc)
                    change_ids.append(resp['ChangeInfo']['Id'])
                    for name in chunk_names:
                        committed(name, current.get(name), plan.get(name))
            except _Conflict as conflict:
                failed_on = (current, conflict.exc, conflict.names)
                time.sleep(min(2.0, 0.1 * (2 ** attempt)) * (0.5 + random.random()))
                continue
            return current, change_ids
        raise self._failure(what, zone, names, failed_on[1])  # pragma: no cover - loop always returns or raises

    @staticmethod
    def _failure(what, zone, names, exc):
        return aws_failure('%s %s in zone %s' % (what, ', '.join(names), zone.describe()), exc,
                           records=list(names), zone_id=zone.id)


class _Conflict(Exception):
    def __init__(self, exc, names):
        super().__init__(str(exc))
        self.exc = exc
        self.names = names


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.same_as(b)


def _change_for(name, current, desired):
    """The Route53 change taking ``current`` to ``desired`` (None = absent), or None."""
    if desired is None or not desired.raw:
        if current is None:
            return None
        # A DELETE must carry the record set exactly as it is (TTL and values, in order).
        return {'Action': 'DELETE', 'ResourceRecordSet': {
            'Name': name + '.', 'Type': 'TXT', 'TTL': current.ttl,
            'ResourceRecords': [{'Value': v} for v in current.raw]}}
    if current is not None and current.same_as(desired):
        return None
    return {'Action': 'UPSERT', 'ResourceRecordSet': {
        'Name': name + '.', 'Type': 'TXT', 'TTL': desired.ttl,
        'ResourceRecords': [{'Value': v} for v in desired.raw]}}


def _chunks(changes):
    """Split ``[(name, change)]`` into batches within Route53's per-request limits."""
    batch, records, chars = [], 0, 0
    for name, change in changes:
        weight = 2 if change['Action'] == 'UPSERT' else 1
        values = change['ResourceRecordSet']['ResourceRecords']
        n = len(values) * weight
        c = sum(len(v['Value']) for v in values) * weight
        if batch and (records + n > MAX_RECORDS_PER_BATCH or chars + c > MAX_VALUE_CHARS_PER_BATCH):
            yield batch
            batch, records, chars = [], 0, 0
        batch.append((name, change))
        records += n
        chars += c
    if batch:
        yield batch


# ------------------------------------------------------------------ one name, as route53_txt does it

def change_txt(records, name, zone, values, state='present', ttl=60, wait_timeout=None, check_mode=False):
    """Make ``values`` present (or absent) on ``name``; wait INSYNC when ``wait_timeout`` is set.

    Returns a :class:`TxtChange`. With ``state='present'``, an interrupt (Ctrl-C, or
    SIGTERM under :func:`terminate_as_interrupt`) that arrives once writing may have
    begun takes back the values this call added before it goes on; what could not be
    taken back is listed in the interrupt's ``cleanup_errors``.
    """
    if state != 'present':
        change = records.ensure(name, absent=values, zone=zone, check_mode=check_mode)
        if change.change_ids and wait_timeout:
            records.wait_insync(change.change_ids, Deadline(wait_timeout))
        return change
    if check_mode:
        return records.ensure(name, present=values, ttl=ttl, zone=zone, check_mode=True)
    before = records.ensure(name, zone=zone, check_mode=True).before
    had = set(before.values) if before is not None else set()
    try:
        change = records.ensure(name, present=values, ttl=ttl, zone=zone)
        if change.change_ids and wait_timeout:
            records.wait_insync(change.change_ids, Deadline(wait_timeout))
        return change
    except KeyboardInterrupt as interrupt:
        interrupt.cleanup_errors = []
        added = set(values) - had
        if added:
            try:
                records.ensure(name, absent=added, zone=zone)
            except Exception as exc:  # pylint: disable=broad-except
                interrupt.cleanup_errors.append(str(exc))
        raise
