# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole test bed in one object: moto (Route53), the DNS server on top, Pebble.

No pytest here: the integration tests and the demo script both use it.

    with Testbed() as bed:
        zone_id = bed.create_zone('qa1.example.test')
        bed.upsert_record(zone_id, 'app1.qa1.example.test', 'A', ['127.0.0.11'])
        print(bed.pebble.directory_url, bed.dns.address, bed.moto.endpoint_url)
"""

import contextlib
import os
import shutil
import sys
import tempfile
import uuid

from .dns_server import Route53DnsServer, decode_name, parse_txt_value
from .moto import MotoServer, aws_env
from .pebble import Pebble

DUMMY_VPC = {'VPCRegion': 'us-east-1', 'VPCId': 'vpc-0123456789abcdef0'}


def quote_txt(value):
    """A TXT string as Route53 stores it: quoted, with `"` and `\\` escaped."""
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


class Testbed:
    """moto + Route53 DNS server + Pebble, started together, stopped in reverse order.

    workdir: where configs and logs go (default: a temp dir, removed after a clean stop).
    eab_required, pebble_env, http_port: passed on to the Pebble (see pebble.Pebble).
    """

    def __init__(self, workdir=None, eab_required=False, pebble_env=None, http_port=None):
        self._own_workdir = workdir is None
        self.workdir = str(workdir or tempfile.mkdtemp(prefix='autotls-testbed-'))
        self.pebble_options = dict(eab_required=eab_required, env=pebble_env, http_port=http_port)
        self.moto = self.dns = self.pebble = self.route53 = None
        self._stack = contextlib.ExitStack()
        self._pebble_count = 0

    def start(self):
        try:
            self.moto = self._stack.enter_context(MotoServer(os.path.join(self.workdir, 'moto')))
            self.route53 = self.moto.client('route53')
            self.dns = self._stack.enter_context(Route53DnsServer(self.moto.client('route53')))
            self.pebble = self.new_pebble(**self.pebble_options)
        except BaseException:
            self.stop()
            raise
        return self

    def new_pebble(self, **kwargs):
        """Another Pebble on this bed's DNS server (stopped with the bed, or by the caller)."""
        self._pebble_count += 1
        name = 'pebble%d' % self._pebble_count if self._pebble_count > 1 else 'pebble'
        pebble = Pebble(self.dns.address, workdir=os.path.join(self.workdir, name), name=name, **kwargs)
        self._stack.callback(pebble.stop)  # registered first: a failed start is still cleaned up
        return pebble.start()

    def stop(self, keep_workdir=False):
        self._stack.close()
        if self._own_workdir and not keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        # Keep configs and logs of a failed run to look at.
        if exc_type is not None and self._own_workdir:
            print('testbed: logs kept in %s' % self.workdir, file=sys.stderr)
        self.stop(keep_workdir=exc_type is not None)

    # ---- environment for subprocesses -------------------------------------------------

    def env(self):
        """AWS dummy credentials for a subprocess (modules take `aws_endpoint_url`)."""
        return aws_env()

    # ---- Route53 helpers (over the API, as a module would see it) ---------------------

    def create_zone(self, name, private=False, vpc=None):
        """Create a hosted zone and return its id (`/hostedzone/...`)."""
        kwargs = {}
        if private:
            kwargs = {'HostedZoneConfig': {'PrivateZone': True, 'Comment': 'testbed'},
                      'VPC': vpc or DUMMY_VPC}
        response = self.route53.create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex, **kwargs)
        return response['HostedZone']['Id']

    def zone_ids(self):
        pages = self.route53.get_paginator('list_hosted_zones').paginate()
        return [z['Id'] for page in pages for z in page['HostedZones']]

    def zone_id_for(self, fqdn):
        """The hosted zone that holds `fqdn` (longest suffix, public first), or None."""
        zones = self.dns.resolver.state.zones()
        best = self.dns.resolver.state.best_zone(zones, decode_name(fqdn))
        return best[1] if best else None

    def record_sets(self, zone_id):
        pages = self.route53.get_paginator('list_resource_record_sets').paginate(HostedZoneId=zone_id)
        return [rrset for page in pages for rrset in page['ResourceRecordSets']]

    def upsert_record(self, zone_id, name, rtype, values, ttl=60):
        """UPSERT one record set; values as Route53 stores them (TXT: see upsert_txt)."""
        self.route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={'Changes': [{
            'Action': 'UPSERT',
            'ResourceRecordSet': {'Name': name, 'Type': rtype, 'TTL': ttl,
                                  'ResourceRecords': [{'Value': v} for v in values]}}]})

    def upsert_txt(self, zone_id, name, values, ttl=60):
        """UPSERT a TXT record set from plain strings (quoted here)."""
        self.upsert_record(zone_id, name, 'TXT', [quote_txt(v) for v in values], ttl)

    def txt_values(self, fqdn):
        """The TXT values at `fqdn` per the Route53 API, unquoted (strings of a value joined)."""
        zone_id = self.zone_id_for(fqdn)
        if zone_id is None:
            return set()
        name = decode_name(fqdn)
        return {b''.join(parse_txt_value(r['Value'])).decode('utf-8', 'replace')
                for rrset in self.record_sets(zone_id)
                if rrset['Type'] == 'TXT' and decode_name(rrset['Name']) == name
                for r in rrset.get('ResourceRecords', [])}

    def delete_zone(self, zone_id):
        """Delete every record set but the apex SOA/NS, then the zone itself."""
        zone_name = decode_name(self.route53.get_hosted_zone(Id=zone_id)['HostedZone']['Name'])
        changes = [{'Action': 'DELETE', 'ResourceRecordSet': rrset}
                   for rrset in self.record_sets(zone_id)
                   if not (rrset['Type'] in ('SOA', 'NS') and decode_name(rrset['Name']) == zone_name)]
        if changes:
            self.route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={'Changes': changes})
        self.route53.delete_hosted_zone(Id=zone_id)

    def delete_all_zones(self):
        for zone_id in self.zone_ids():
            self.delete_zone(zone_id)
