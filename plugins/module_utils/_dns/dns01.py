# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS-01 through Route53 for many certificates at once.

All challenge values of a run are written first, one change per hosted zone; then one
wait covers them all: every change INSYNC (waited for at the same time), then every
zone's authoritative servers answering every value (asked in one polling loop), under
the DNS wait's own deadline. Values are removed together at the end. A zone that fails
only fails the certificates with names in it. Missing libraries are found before
anything is written.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common import aws
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.timings import NoTimings
from ansible_collections.autotls.acme.plugins.module_utils._dns import propagation
from ansible_collections.autotls.acme.plugins.module_utils._dns.route53 import (
    Route53Zones,
    TxtHandle,
    TxtRecords,
)


def challenge_record_name(domain):
    """The DNS-01 record name of ``domain`` (RFC 8555 8.4): ``*.example.com`` -> ``_acme-challenge.example.com``."""
    domain = domain[2:] if domain.startswith('*.') else domain
    return '_acme-challenge.' + domain


class _ZoneWork:
    """The values of one hosted zone in this run, and whose they are."""

    def __init__(self, zone):
        self.zone = zone
        self.values = {}        # record name -> set of values
        self.owners = set()     # certificate names
        self.servers = None     # [(ip, port)] asked for the authoritative check
        self.change_ids = []


class Route53Dns01Solver:
    """Publishes DNS-01 values in Route53, waits until they can be seen, removes them.

    ``propagation_timeout`` bounds the DNS wait (INSYNC plus authoritative answers)
    unless :meth:`present` is given a deadline of its own. ``cleanup_errors`` lists, after
    :meth:`cleanup`, every value that could not be removed.
    """

    challenge_type = 'dns-01'
    # Threads that look up hosted zones and CNAMEs at once (Route53 allows an account
    # five requests a second; botocore retries what it throttles).
    LOOKUP_WORKERS = 4

    def __init__(self, aws_params, ttl=60, propagation_timeout=300, nameservers=None, timings=None):
        self.aws_params = aws_params
        self.timings = timings or NoTimings()
        self.ttl = ttl
        self.propagation_timeout = propagation_timeout
        self.nameservers = nameservers
        self._records = None
        self._handle = TxtHandle()
        self.cleanup_errors = []

    @property
    def records(self):
        # The client is made on first use: check mode and runs with nothing due never touch AWS.
        if self._records is None:
            client = aws.route53_client(self.aws_params)
            self._records = TxtRecords(client, Route53Zones(client, nameservers_needed=not self.nameservers))
        return self._records

    @staticmethod
    def check_dependencies():
        """Raise a :class:`ConfigurationError` when a library the solver needs is missing."""
        if not aws.HAS_BOTO3:
            raise ConfigurationError(
                'The Python libraries boto3 and botocore are required for DNS-01 through Route53; '
                'install them on the controller (or in the execution environment): pip install boto3',
                exception=aws.BOTO3_IMPORT_ERROR)
        propagation.require_dnspython()

    def prepare(self, specs):
        """Find, ahead of :meth:`present`, the hosted zone of every challenge name of ``specs``.

        The names are known from the certificates' domains before any order exists, so
        the Route53 lookups (zone list, zone, CNAME delegation) can run while the CA
        creates the orders. Lookups run in a few threads and are kept for this run;
        nothing is written and nothing raises here: a name that fails is looked up again
        by :meth:`present`, which reports it for its certificate.
        """
        try:
            self.check_dependencies()
            names = [(challenge_record_name(domain), spec.zone_id) for spec in specs for domain in spec.domains]
            with self.timings.phase('dns_zones_early'):
                self.records.zones.resolve_many(names, workers=self.LOOKUP_WORKERS)
        except Exception:  # pylint: disable=broad-except
            pass    # present() meets the same problem and reports it per certificate

    def present(self, items, deadline=None):
        """Publish the values of ``items`` ([(spec, PendingChallenge)]); return {cert name: error}.

        ``deadline`` (a :class:`Deadline`) bounds the wait; by default one of
        ``propagation_timeout`` seconds starts once every value is submitted.
        """
        failures = {}
        try:
            self.check_dependencies()
        except AutoTLSError as exc:
            # Nothing written: every certificate of the run hears why.
            for spec, _challenge in items:
                failures.setdefault(spec.name, exc)
            return failures

        zones_started = self.timings.clock()
        work = self._by_zone(items, failures)
        # Everything that can be found out without writing is, before the first write.
        for item in list(work.values()):
            try:
                item.servers = propagation.authoritative_servers(item.zone, self.nameservers)
            except AutoTLSError as exc:
                self._fail(failures, item.owners, exc)
                del work[item.zone.id]
        self.timings.add('dns_zones', zones_started)

        # 1. Every zone's change batch goes out before any wait begins.
        submitted = []
        write_started = self.timings.clock()
        for item in work.values():
            before = len(self._handle.change_ids)
            try:
                self.records.add(item.values, ttl=self.ttl, zone_for={n: item.zone for n in item.values},
                                 handle=self._handle)
            except AutoTLSError as exc:
                self._fail(failures, item.owners, exc)
                continue
            item.change_ids = self._handle.change_ids[before:]
            submitted.append(item)
        self.timings.add('dns_write', write_started)

        deadline = deadline or Deadline(self.propagation_timeout)
        # 2. All changes INSYNC, waited for at the same time.
        with self.timings.phase('dns_insync'):
            outcome = self.records.wait_insync_each(
                [cid for item in submitted for cid in item.change_ids], deadline)
        insync = []
        for item in submitted:
            errors = [outcome[cid] for cid in item.change_ids if outcome.get(cid) is not None]
            if errors:
                self._fail(failures, item.owners, errors[0])
            else:
                insync.append(item)

        # 3. Every zone's authoritative servers, asked in one polling loop.
        with self.timings.phase('dns_authoritative'):
            self._wait_authoritative(insync, deadline, failures)
        return failures

    def _by_zone(self, items, failures):
        work = {}
        # Looked up together (a few threads); answers found by prepare() are reused.
        self.records.zones.resolve_many([(c.record_name, spec.zone_id) for spec, c in items
                                         if spec.name not in failures], workers=self.LOOKUP_WORKERS)
        for spec, challenge in items:
            if spec.name in failures:
                continue
            try:
                name, zone = self.records.zones.resolve_challenge_name(challenge.record_name, zone_id=spec.zone_id)
            except AutoTLSError as exc:
                failures[spec.name] = AutoTLSError('%s (for %s)' % (exc, challenge.record_name), **exc.details)
                continue
            item = work.setdefault(zone.id, _ZoneWork(zone))
            item.values.setdefault(name, set()).add(challenge.value)
            item.owners.add(spec.name)
        for item in work.values():
            # A certificate that failed on one name has no use for its other names.
            item.owners -= set(failures)
        return {zone_id: item for zone_id, item in work.items() if item.owners}

    def _wait_authoritative(self, items, deadline, failures):
        if not items:
            return
        expected, servers = {}, {}
        for item in items:
            for name, values in item.values.items():
                expected.setdefault(name, set()).update(values)
                servers[name] = item.servers
        try:
            propagation.wait_for_txt(expected, servers, deadline)
        except propagation.PropagationTimeout as exc:
            missing = exc.details.get('missing') or []
            for item in items:
                mine = [entry for entry in missing if entry['name'] in item.values]
                if mine:
                    self._fail(failures, item.owners, propagation.propagation_timeout(deadline.seconds, mine))
        except AutoTLSError as exc:
            for item in items:
                self._fail(failures, item.owners, exc)

    @staticmethod
    def _fail(failures, owners, exc):
        for owner in owners:
            failures.setdefault(owner, exc)

    def cleanup(self):
        """Remove every value this solver wrote; never raises (it runs in a finally).

        What could not be removed is added to ``cleanup_errors``, naming the records.
        """
        if self._records is None or not self._handle:
            return
        try:
            self.records.remove(self._handle)
        except Exception as exc:  # pylint: disable=broad-except
            self.cleanup_errors.append(str(exc))
        if self._handle and not self.cleanup_errors:
            self.cleanup_errors.append('TXT values left in Route53: %s' % ', '.join(
                '%s (%s)' % (name, ', '.join(sorted(values)))
                for name, values in sorted(self._handle.values_by_name().items())))
