# -*- coding: utf-8 -*-
# Copyright: autotls.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS-01 through Route53 for many certificates at once.

All challenge values of a run are written with one change per hosted zone, waited for
together (INSYNC, then the zone's authoritative servers), and removed together at the
end. A zone that fails only fails the certificates with names in it.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import route53_client
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._dns.propagation import (
    authoritative_servers,
    wait_for_txt,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._dns.route53 import (
    Route53Zones,
    TxtHandle,
    TxtRecords,
)


class Route53Dns01Solver:
    challenge_type = 'dns-01'

    def __init__(self, aws_params, ttl=60, propagation_timeout=300, nameservers=None):
        self.aws_params = aws_params
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
            client = route53_client(self.aws_params)
            self._records = TxtRecords(client, Route53Zones(client))
        return self._records

    def present(self, items):
        """Publish the values of ``items`` ([(spec, PendingChallenge)]); return {cert name: error}."""
        failures = {}
        by_zone = {}        # zone id -> (zone, {record name: set(values)}, set(cert names))
        for spec, challenge in items:
            if spec.name in failures:
                continue
            try:
                name, zone = self.records.zones.resolve_challenge_name(challenge.record_name, zone_id=spec.zone_id)
            except AutoTLSError as exc:
                failures[spec.name] = AutoTLSError('%s (for %s)' % (exc, challenge.record_name), **exc.details)
                continue
            entry = by_zone.setdefault(zone.id, (zone, {}, set()))
            entry[1].setdefault(name, set()).add(challenge.value)
            entry[2].add(spec.name)

        deadline = Deadline(self.propagation_timeout)
        published = []
        for zone, values, owners in by_zone.values():
            try:
                before = len(self._handle.change_ids)
                self.records.add(values, ttl=self.ttl, zone_for={n: zone for n in values}, handle=self._handle)
                self.records.wait_insync(self._handle.change_ids[before:], deadline)
                published.append((zone, values, owners))
            except AutoTLSError as exc:
                self._fail(failures, owners, exc)

        for zone, values, owners in published:
            try:
                servers = authoritative_servers(zone, self.nameservers)
                wait_for_txt(values, {name: servers for name in values}, deadline)
            except AutoTLSError as exc:
                self._fail(failures, owners, exc)
        return failures

    @staticmethod
    def _fail(failures, owners, exc):
        for owner in owners:
            failures.setdefault(owner, exc)

    def cleanup(self):
        """Remove every value this solver wrote; never raises (it runs in a finally)."""
        if self._records is None or not self._handle:
            return
        try:
            self.records.remove(self._handle)
        except Exception as exc:  # pylint: disable=broad-except
            self.cleanup_errors.append(str(exc))
