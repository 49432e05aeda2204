# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest fixtures for test hosts (see hosts.py), an inventory writer and their DNS names.

Fixtures:
- test_hosts (session): app1..app3 (fqdn appN.qa1.example.test, 127.0.0.11-13), started
  in parallel; `test_hosts['app1']` or `test_hosts[0]`. State a test leaves on them (files,
  a running nginx) stays for later tests: call `host.reset()` for a fresh one.
- new_test_host (function): new_test_host(name, fqdn=None) -> an extra fresh host on the
  next free address from 127.0.0.14 on, stopped when the test ends.
- host_traefik (function): host_traefik(host, **kwargs) -> a started HostTraefik (traefik.py)
  reading the host's /etc/traefik/traefik.yml; every one is stopped when the test ends.
- host_dns (function): the Route53 zone qa1.example.test (made if absent) with
  appN.qa1.example.test A 127.0.0.(10+N) for the session hosts; `host_dns.add(host)` for more.
  A zone it made is deleted when the test ends (a later test on the worker, e.g. one that
  makes qa1.example.test itself, must not find it).

Addresses: host index i is 127.0.0.(10+i). The session hosts take a block of 20 indexes:
offset 0 (app1 = 127.0.0.11) unless another test run on this machine holds it (an
flock per address), or on pytest-xdist worker gwK offset 20*K; after waiting 10 s for
its preferred block a run takes the next free one. Each run has its own test bed and DNS,
which map appN to that run's address, so tests use host.address, never a literal.

Every teardown checks that no process is left in a host's namespace and that nothing
listens on its address (ports 22, 80, 443); a leftover is a teardown error.
"""

import os

import pytest
import yaml

from .hosts import AddressBusy, TestHost, link_hosts, start_hosts, stop_hosts
from .traefik import HostTraefik

ZONE = 'qa1.example.test'
SESSION_HOSTS = ('app1', 'app2', 'app3')
EXTRA_INDEXES = range(4, 20)   # per worker: 1..3 session hosts, 4..19 extra ones
WORKER_STRIDE = 20
OFFSET_ENV = 'AUTOTLS_TEST_HOST_OFFSET'


PREFERRED_WAIT = 10.0          # seconds to wait for the preferred block before moving on
RELOCATION_BASES = range(0, 200, WORKER_STRIDE)  # 200+ is for tests that pin an offset
_block = {}                    # 'offset': the block this process's session hosts got


def worker_offset():
    """Preferred index offset of this run's hosts: $AUTOTLS_TEST_HOST_OFFSET if set (a
    pytest run inside a test uses it), else 0 without xdist and 20*K on xdist worker gwK."""
    if os.environ.get(OFFSET_ENV):
        return int(os.environ[OFFSET_ENV])
    worker = os.environ.get('PYTEST_XDIST_WORKER', '')
    return WORKER_STRIDE * int(worker[2:]) if worker.startswith('gw') else 0


def _candidate_offsets():
    preferred = worker_offset()
    return [preferred] + [b for b in RELOCATION_BASES if b != preferred]


def start_session_hosts(workdir, names=SESSION_HOSTS, zone=ZONE):
    """Start appN (N = 1, 2, ...) on the first block of addresses that is free.

    The preferred block (see worker_offset) is waited for PREFERRED_WAIT s; if another
    test run on this machine still holds it, the next free block is taken, so appN is then
    at 127.0.0.(10+offset+N): use host.address, never a literal address.
    """
    for attempt, offset in enumerate(_candidate_offsets()):
        hosts = HostList(
            TestHost(name, offset + n, os.path.join(os.fspath(workdir), name),
                     fqdn='%s.%s' % (name, zone), lock_timeout=PREFERRED_WAIT if attempt == 0 else 0)
            for n, name in enumerate(names, 1))
        try:
            start_hosts(hosts)
        except AddressBusy:
            continue
        _block['offset'] = offset
        link_hosts(hosts)
        return hosts
    raise AddressBusy('no free block of test host addresses (offsets %s)' % _candidate_offsets())


class HostList(list):
    """A list of TestHosts that can also be indexed by name: hosts['app1']."""

    def __getitem__(self, key):
        if isinstance(key, str):
            for host in self:
                if host.name == key:
                    return host
            raise KeyError(key)
        return super().__getitem__(key)


def leftovers(hosts):
    """Problems found when the hosts were stopped: processes still in their namespaces,
    listeners still on their addresses (checked before each address was released, as
    another test run may take it right after). [] when clean."""
    return ['%s: %s' % (host.name, problem) for host in hosts for problem in host.leftovers or ()]


def _stop_and_check(hosts):
    try:
        stop_hosts(hosts)
    finally:
        problems = leftovers(hosts)
    if problems:
        raise AssertionError('test hosts not cleaned up:\n' + '\n'.join(problems))


# ---- inventory --------------------------------------------------------------------------

def _host_name(host, use_fqdn):
    if isinstance(host, str):
        return host
    return host.fqdn if use_fqdn else host.name


def write_inventory(path, hosts=(), groups=None, host_vars=None, group_vars=None, use_fqdn=False):
    """Write a YAML inventory of test hosts and return its path.

    hosts: TestHosts in no group of their own (they are in `all`); groups: {group: [hosts]}
    (a host may be in several); host_vars: {host or name: {var: value}}, merged over the
    host's connection vars (inventory_vars()); group_vars: {group: {var: value}}, 'all'
    included. Inventory names are the hosts' names (app1), or their FQDNs with use_fqdn.
    The file name should end in .yml/.yaml (Ansible's yaml inventory plugin).
    """
    groups = dict(groups or {})
    host_vars = {_host_name(k, use_fqdn): v for k, v in (host_vars or {}).items()}
    group_vars = dict(group_vars or {})
    every = {}
    for host in list(hosts) + [h for members in groups.values() for h in members]:
        every.setdefault(_host_name(host, use_fqdn), host)
    unknown = set(host_vars) - set(every)
    if unknown:
        raise ValueError('host_vars for hosts not in the inventory: %s' % sorted(unknown))
    all_hosts = {}
    for name, host in every.items():
        variables = dict(host.inventory_vars())
        variables.update(host_vars.get(name, {}))
        all_hosts[name] = variables
    tree = {'hosts': all_hosts}
    if group_vars.get('all'):
        tree['vars'] = group_vars['all']
    children = {}
    for group, members in groups.items():
        if group == 'all':
            raise ValueError("'all' is implicit: put those hosts in hosts=")
        children[group] = {'hosts': {_host_name(h, use_fqdn): None for h in members}}
        if group_vars.get(group):
            children[group]['vars'] = group_vars[group]
    for group in set(group_vars) - set(groups) - {'all'}:
        children[group] = {'vars': group_vars[group]}
    if children:
        tree['children'] = children
    path = os.fspath(path)
    with open(path, 'w') as f:
        yaml.safe_dump({'all': tree}, f, default_flow_style=False, sort_keys=False)
    return path


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope='session')
def test_hosts(tmp_path_factory):
    """app1, app2, app3: started in parallel, stopped (and checked) at the end of the session."""
    hosts = start_session_hosts(tmp_path_factory.mktemp('hosts'))
    try:
        yield hosts
    finally:
        _stop_and_check(hosts)


@pytest.fixture
def new_test_host(request, tmp_path):
    """new_test_host(name, fqdn=None) -> a started fresh TestHost, stopped after the test.

    Its /etc/hosts, and those of the session hosts (if the test uses them), name each
    other; the session hosts' entries are put back after.
    """
    made = []
    session_hosts = (request.getfixturevalue('test_hosts')
                     if 'test_hosts' in request.fixturenames else [])

    def make(name, fqdn=None, **kwargs):
        used = {h.index for h in made if h.running}
        first = _block.get('offset', worker_offset())
        offsets = [first] + [o for o in _candidate_offsets() if o != first]
        for index in (o + i for o in offsets for i in EXTRA_INDEXES):
            if index in used:
                continue
            host = TestHost(name, index, tmp_path / ('host-%s-%d' % (name, len(made))),
                            fqdn=fqdn, lock_timeout=0, **kwargs)
            made.append(host)
            try:
                host.start()
            except AddressBusy:
                made.remove(host)
                continue  # another run holds it: take the next
            link_hosts([h for h in session_hosts if h.running] + [h for h in made if h.running])
            return host
        raise AddressBusy('no free address for an extra test host')

    try:
        yield make
    finally:
        try:
            _stop_and_check(made)
        finally:
            if session_hosts:
                link_hosts([h for h in session_hosts if h.running])


@pytest.fixture
def host_traefik():
    """host_traefik(host, config=..., env=...) -> a started HostTraefik; all stopped after the test."""
    started = []

    def start(host, **kwargs):
        traefik = HostTraefik(host, **kwargs)
        started.append(traefik)
        return traefik.start()

    try:
        yield start
    finally:
        for traefik in reversed(started):
            traefik.stop()


class HostDns:
    """The hosts' zone in the test bed's Route53: zone_id, records {fqdn: address}, add(host).

    created: whether the zone was made here (it was absent); close() deletes it then, with
    every record in it, and leaves a zone that was there before as it was."""

    def __init__(self, testbed, zone=ZONE):
        self.testbed = testbed
        self.zone = zone
        self.created = False
        self.zone_id = self._find_or_create()
        self.records = {}

    def _find_or_create(self):
        wanted = self.zone.rstrip('.') + '.'
        listing = self.testbed.route53.list_hosted_zones_by_name(DNSName=wanted)
        for zone in listing['HostedZones']:
            if zone['Name'] == wanted and not zone.get('Config', {}).get('PrivateZone'):
                return zone['Id']
        self.created = True
        return self.testbed.create_zone(self.zone)

    def add(self, host, fqdn=None):
        """UPSERT `fqdn` (default host.fqdn) A host.address; returns the name."""
        name = fqdn or host.fqdn
        if not (name + '.').endswith('.' + self.zone + '.'):
            raise ValueError('%s is not in zone %s' % (name, self.zone))
        self.testbed.upsert_record(self.zone_id, name, 'A', [host.address])
        self.records[name] = host.address
        return name

    def close(self):
        """Delete the zone if it was made here (and is still there: the route53 fixture may
        have deleted it already)."""
        if self.created and self.zone_id in self.testbed.zone_ids():
            self.testbed.delete_zone(self.zone_id)
        self.created = False


@pytest.fixture
def host_dns(testbed, test_hosts):
    """Zone qa1.example.test (made if absent, then deleted after the test) with an A record
    per session host."""
    dns = HostDns(testbed)
    try:
        for host in test_hosts:
            dns.add(host)
        yield dns
    finally:
        dns.close()
