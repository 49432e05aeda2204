#!/usr/bin/env python
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the nightly job at scale, and an expiry scan of many TLS endpoints.

One invocation, side by side:

  onboard      playbooks/onboard.yml over N test hosts (SSH, their own nginx): serves the
               ACME webroot, issues every certificate once, deploys it (the setup; timed too)
  renew-due    playbooks/renew.yml with everything due (renew_before fraction 0.99999 on
               Pebble certificates of validity_seconds=3600): every certificate renewed,
               deployed, nginx reloaded
  renew-quiet  playbooks/renew.yml on the same inventory, default policy: nothing due
  renew-quiet-baseline (with --baseline-ref REF) the same quiet run, right after, with the
               collection as it was at the git revision REF: before/after in one run
  renew-quiet-hosts-K  the quiet run again over the first N/4 and N/2 hosts (--limit):
               printed as the cost per extra host (unless --skip-host-cost)
  scan-module  autotls.acme.cert_info with every endpoint in one task (ansible-playbook)
  scan-openssl a bash loop of `openssl s_client | openssl x509 -enddate` over the same endpoints

Certificates (default 100): half DNS-01, `*.envN.bench.example.test` + `envN.bench.example.test`,
declared in group_vars of groups of two hosts (both serve them); half HTTP-01, one name
each, `svcN.hostM.bench.example.test`, declared in host_vars of the host that serves it,
with a Route53 A record pointing at that host. Pebble validates HTTP-01 on port 80 of the
host's address (nginx) and DNS-01 through the test DNS server answering from moto.

Endpoints (default 500): TLS listeners on 127.0.0.1 in a few Python processes (this script
with --serve-tls), each port presenting its own leaf (distinct not-after) + intermediate.

Run with the project venv's Python (see bench/README.md):

    ${AUTOTLS_VENV:-.venv}/bin/python bench/renew_scale.py [--certs 100] [--hosts 10]
        [--endpoints 500] [--skip-renew] [--skip-scan] [--host-offset 150] [--forks N]
        [--concurrency N] [--baseline-ref REF] [--skip-host-cost] [--keep-workdir]

Exit status: 0 when every run had no failure; 1 otherwise; 2 on a setup error.
"""

import argparse
import asyncio
import concurrent.futures
import contextlib
import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import types

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)

# ---- the TLS listeners of the scan (this file, run as a child process) --------------------
# Kept above the heavy imports: a listener process needs only the standard library.


def serve_tls(spec_path, ports_path):
    """Listen on 127.0.0.1 (port 0, one socket per entry of the spec), write the ports, serve.

    spec: [{"fullchain": path, "key": path}, ...]; ports file: [port, ...] in the same order,
    written (atomically) once every socket listens. Each connection gets the handshake, then
    is held until the client closes (or 10 s), as a web server would.
    """
    with open(spec_path) as f:
        spec = json.load(f)

    async def handle(reader, writer):
        try:
            await asyncio.wait_for(reader.read(65536), 10)
        except (asyncio.TimeoutError, OSError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()   # no close_notify wait: the client may be gone

    async def main():
        servers = []
        for entry in spec:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(entry['fullchain'], entry['key'])
            servers.append(await asyncio.start_server(handle, '127.0.0.1', 0, ssl=ctx, backlog=256,
                                                      ssl_handshake_timeout=10))
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        tmp = ports_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(ports, f)
        os.replace(tmp, ports_path)
        await asyncio.Event().wait()

    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    asyncio.run(main())


if __name__ == '__main__' and len(sys.argv) == 4 and sys.argv[1] == '--serve-tls':
    serve_tls(sys.argv[2], sys.argv[3])
    sys.exit(0)

# ---- the benchmark ------------------------------------------------------------------------

sys.path.insert(0, BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests'))
import issue_dns01 as dns01bench  # noqa: E402  (re-executes with the project venv if needed)
from issue_dns01 import (  # noqa: E402
    DnsProbe,
    _stop_group,
    collections_root,
    leftover_challenge_values,
    log_tail,
    pebble_request_count,
    read_records,
)

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from testbed.bed import Testbed  # noqa: E402
from testbed.fixtures_hosts import leftovers as host_leftovers  # noqa: E402
from testbed.fixtures_hosts import write_inventory  # noqa: E402
from testbed.hosts import TestHost, link_hosts, start_hosts, stop_hosts  # noqa: E402
from testbed.moto import aws_env  # noqa: E402
from testbed.processes import start_process, stop_pid, wait_until  # noqa: E402

BENCH_CALLBACKS = dns01bench.CALLBACK_DIR
TESTBED_CALLBACKS = os.path.join(REPO_ROOT, 'tests', 'testbed', 'callback_plugins')
ONBOARD = os.path.join(REPO_ROOT, 'playbooks', 'onboard.yml')
RENEW = os.path.join(REPO_ROOT, 'playbooks', 'renew.yml')
ISSUE = os.path.join(REPO_ROOT, 'playbooks', 'issue.yml')
DEPLOY = os.path.join(REPO_ROOT, 'playbooks', 'deploy.yml')
ZONE = 'bench.example.test'
ORDERED = 'autotls.acme.issue : Create the orders of the certificates that are due'
FINISHED = 'autotls.acme.issue : Answer the challenges, finalize and store the certificates'
SUMMED = 'autotls.acme.issue : Sum up what was issued and what failed'
SCAN_TASK = 'Expiry scan of every endpoint'
ENDPOINTS_PER_SERVER = 128


class Interrupted(BaseException):
    """SIGTERM/SIGHUP: unwind like Ctrl-C so every finally block stops what it started."""


def _on_signal(signum, frame):
    raise Interrupted('signal %d' % signum)


# ---- running ansible-playbook -------------------------------------------------------------

def ansible_env(collections_path, record_path, results_path, forks, control_dir, pipelining=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(aws_env())
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_path,
        # bench_record: seconds per task; record_results: per host, plus the play's stats.
        'ANSIBLE_CALLBACK_PLUGINS': BENCH_CALLBACKS + os.pathsep + TESTBED_CALLBACKS,
        'ANSIBLE_CALLBACKS_ENABLED': 'bench_record,record_results',
        'AUTOTLS_BENCH_RECORD': record_path,
        'AUTOTLS_RESULTS_FILE': results_path,
        # Modules delegated to localhost run with this venv (acme, boto3); the test hosts
        # set ansible_python_interpreter themselves.
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_FORKS': str(forks),
        'ANSIBLE_SSH_CONTROL_PATH_DIR': control_dir,
        'ANSIBLE_PIPELINING': 'True' if pipelining else 'False',
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
        'PYTHONUNBUFFERED': '1',
    })
    return env


def run_ansible(argv, env, cwd, log_path, timeout):
    """Run ansible-playbook (argv without the program) in its own process group.

    Returns (rc, wall seconds); the group is killed on timeout, Ctrl-C or SIGTERM.
    """
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')] + list(argv)
    with open(log_path, 'wb') as log:
        log.write(('$ %s\n' % ' '.join(command)).encode())
        log.flush()
        started = time.monotonic()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            return None, time.monotonic() - started
        except BaseException:
            _stop_group(proc)
            raise
        finally:
            _stop_group(proc, only_leftovers=True)
        return rc, time.monotonic() - started


def read_results(path):
    """(per-host task results, stats) written by the test bed's record_results callback."""
    results, stats = [], {}
    for record in read_records(path):
        if record.pop('kind', None) == 'stats':
            stats = record['stats']
        else:
            results.append(record)
    return results, stats


def pids_mentioning(text):
    """Pids of live processes whose command line contains `text` (our work directory)."""
    needle = text.encode()
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                if needle in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def stop_ssh_masters(control_dir):
    """Stop the SSH ControlPersist masters of our runs (they daemonize out of the playbook's
    process group), so every timed run starts with cold connections, like a nightly job."""
    stopped = 0
    for pid in pids_mentioning(control_dir):
        stop_pid(pid, timeout=3)
        stopped += 1
    return stopped


def task_seconds(records):
    """{task name: wall seconds}: per task, the latest result's time since the task started."""
    seconds = {}
    for r in records:
        if r.get('seconds') is not None:
            seconds[r['task']] = max(seconds.get(r['task'], 0.0), r['seconds'])
    return seconds


PHASES = (
    ('order', lambda t: t == ORDERED),
    ('tokens', lambda t: t.startswith('autotls.acme.issue : ') and ('HTTP-01 tokens' in t or 'ACME webroot' in t)),
    ('validate+finalize', lambda t: t == FINISHED),
    ('deploy', lambda t: t.startswith('autotls.acme.cert_deploy')),
    ('nginx', lambda t: t.startswith('autotls.acme.nginx_tls')),
    ('drift check', lambda t: t in ('Look at what each serving host presents',
                                    'Reload where an older certificate is still served')),
)


def phase_seconds(seconds):
    out = dict.fromkeys([phase[0] for phase in PHASES] + ['other'], 0.0)
    for task, secs in seconds.items():
        for phase, match in PHASES:
            if match(task):
                out[phase] += secs
                break
        else:
            out['other'] += secs
    return out


# ---- (a), (b): the inventory, onboard, renew -------------------------------------------------

def plan(cert_count, host_count):
    """Certificates, who declares them, and the names that need A records."""
    dns_count = cert_count // 2
    http_count = cert_count - dns_count
    hosts = ['host%02d' % m for m in range(1, host_count + 1)]
    groups = {}
    for g in range((host_count + 1) // 2):
        groups['dnsgroup%d' % (g + 1)] = hosts[2 * g:2 * g + 2]
    group_names = sorted(groups, key=lambda n: int(n[8:]))
    group_certs = {g: [] for g in group_names}
    for n in range(1, dns_count + 1):
        group = group_names[(n - 1) % len(group_names)]
        group_certs[group].append({'name': 'env%d' % n, 'challenge': 'dns-01',
                                   'domains': ['*.env%d.%s' % (n, ZONE), 'env%d.%s' % (n, ZONE)]})
    host_certs = {h: [] for h in hosts}
    for n in range(1, http_count + 1):
        host = hosts[(n - 1) % host_count]
        host_certs[host].append({'name': 'svc%d' % n, 'challenge': 'http-01',
                                 'domains': ['svc%d.%s.%s' % (n, host, ZONE)]})
    served = {h: list(host_certs[h]) for h in hosts}   # host -> certificates it serves
    for group, members in groups.items():
        for h in members:
            served[h] += group_certs[group]
    return types.SimpleNamespace(hosts=hosts, groups=groups, group_certs=group_certs, host_certs=host_certs,
                                 served=served, dns_count=dns_count, http_count=http_count,
                                 names=[c['name'] for g in group_names for c in group_certs[g]]
                                 + [c['name'] for h in hosts for c in host_certs[h]])


def sni_for(cert):
    plain = [d for d in cert['domains'] if not d.startswith('*.')]
    return plain[0] if plain else 'www' + cert['domains'][0][1:]


def served_serial(address, name, timeout=10):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, 443), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return '%x' % x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def stored_serials(store, names):
    serials = {}
    for name in names:
        try:
            with open(os.path.join(store, 'certs', name, 'cert.pem'), 'rb') as f:
                serials[name] = '%x' % x509.load_pem_x509_certificate(f.read()).serial_number
        except (OSError, ValueError):
            serials[name] = None
    return serials


def check_served(test_hosts, layout, store_serials):
    """What every host serves for every certificate it declares, against the store.

    Returns (ok, stale [(host, cert, served, stored)], errors [(host, cert, error)]).
    """
    by_name = {h.name: h for h in test_hosts}
    pairs = [(host, cert) for host in layout.hosts for cert in layout.served[host]]

    def probe(pair):
        host, cert = pair
        try:
            return pair, served_serial(by_name[host].address, sni_for(cert)), None
        except (OSError, ssl.SSLError, ValueError) as exc:
            return pair, None, str(exc)

    ok, stale, errors = 0, [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for (host, cert), serial, error in pool.map(probe, pairs):
            if error:
                errors.append((host, cert['name'], error))
            elif serial != store_serials.get(cert['name']):
                stale.append((host, cert['name'], serial, store_serials.get(cert['name'])))
            else:
                ok += 1
    return ok, stale, errors


def write_bench_inventory(path, test_hosts, layout, bed, pebble, store, concurrency=None):
    by_name = {h.name: h for h in test_hosts}
    host_vars = {}
    for host in test_hosts:
        host_vars[host.name] = {'autotls_nginx_listen_address': host.address, 'autotls_nginx_ipv6': False,
                                'autotls_host_certificates': layout.host_certs[host.name]}
    all_vars = {
        'autotls_acme_directory': pebble.directory_url, 'autotls_acme_ca_bundle': pebble.ca_bundle,
        'autotls_account_email': 'bench@example.test', 'autotls_terms_agreed': True,
        'autotls_store': {'type': 'local', 'path': store},
        'autotls_route53': {'endpoint_url': bed.moto.endpoint_url},
        'autotls_dns_servers': [bed.dns.address],
    }
    if concurrency:
        all_vars['autotls_concurrency'] = concurrency
    groups = {g: [by_name[h] for h in members] for g, members in layout.groups.items()}
    group_vars = {'all': all_vars}
    group_vars.update({g: {'autotls_certificates': certs} for g, certs in layout.group_certs.items()})
    return write_inventory(path, groups=groups, host_vars=host_vars, group_vars=group_vars)


def subset_layout(layout, hosts):
    """The layout as a run limited to hosts sees it: only the certificates those hosts serve."""
    names = {c['name'] for h in hosts for c in layout.served[h]}
    return types.SimpleNamespace(hosts=list(hosts), names=[n for n in layout.names if n in names])


def host_steps(host_count):
    """Smaller host counts for the quiet night, to show the cost of each extra host: N/4 and N/2."""
    return sorted({k for k in (host_count // 4, host_count // 2) if 0 < k < host_count})


def playbook_row(label, playbook, inventory, extra_vars, env_args, rundir, layout, expect_action, timeout,
                 limit=None):
    """Run one playbook over the inventory (or --limit hosts); returns the row (wall, failures, where the time went)."""
    os.makedirs(rundir)
    record = os.path.join(rundir, 'tasks.jsonl')
    results_path = os.path.join(rundir, 'results.jsonl')
    log = os.path.join(rundir, 'ansible.log')
    argv = ['-i', inventory, playbook]
    if limit:
        argv += ['--limit', ','.join(limit)]
        layout = subset_layout(layout, limit)
    if extra_vars:
        vars_file = os.path.join(rundir, 'extra_vars.json')
        with open(vars_file, 'w') as f:
            json.dump(extra_vars, f)
        argv += ['-e', '@' + vars_file]
    env = ansible_env(record_path=record, results_path=results_path, **env_args)
    rc, wall = run_ansible(argv, env, rundir, log, timeout)
    records = read_records(record)
    results, stats = read_results(results_path)

    summed = [r for r in records if r['task'] == SUMMED and r['status'] == 'ok']
    issued = ((summed[-1]['result'].get('ansible_facts') or {}).get('autotls_issue_results') or []) if summed else []
    by_name = {c.get('name'): c for c in issued}
    failed = [c for c in issued if c.get('failed')]
    # expect_action None: a run that issues nothing (deploy.yml) reports on no certificate.
    unreported = [n for n in layout.names if n not in by_name] if expect_action else []
    unexpected = [c for c in issued if not c.get('failed') and c.get('action') != expect_action] if expect_action else []
    actions = {}
    for c in issued:
        key = 'failed' if c.get('failed') else c.get('action')
        actions[key] = actions.get(key, 0) + 1
    host_failures = {h: s.get('failures', 0) + s.get('unreachable', 0) for h, s in stats.items()
                     if s.get('failures', 0) + s.get('unreachable', 0)}
    changed = {h: s.get('changed', 0) for h, s in stats.items() if h != 'localhost'}
    errors = ['%s: %s' % (c.get('name'), c.get('msg')) for c in failed]
    errors += ['%s: never reported on' % n for n in unreported]
    errors += ['%s: action %s, expected %s' % (c.get('name'), c.get('action'), expect_action) for c in unexpected]
    for r in results:
        if r['failed'] and not r['ignore_errors']:
            errors.append('task %r on %s: %s' % (r['task'], r['host'], str(r['result'].get('msg'))[:300]))
    if rc is None:
        errors.append('ansible-playbook timed out after %d s; log tail:\n%s' % (timeout, log_tail(log)))
    elif rc != 0 and not errors:
        errors.append('ansible-playbook rc=%d, log tail:\n%s' % (rc, log_tail(log)))
    seconds = task_seconds(records)
    return {
        'label': label, 'rc': rc, 'wall': wall, 'count': len(layout.names), 'hosts': len(layout.hosts),
        'failures': len(failed) + len(unreported) + len(unexpected), 'actions': actions,
        'host_failures': host_failures, 'changed': changed, 'errors': errors, 'log': log,
        'task_seconds': seconds, 'phases': phase_seconds(seconds),
        'slowest': sorted(seconds.items(), key=lambda kv: -kv[1])[:6],
    }


def awx_slices(hosts, count):
    """The hosts of each slice as AWX cuts them: sorted by name, every count-th one."""
    ordered = sorted(hosts)
    return [ordered[k::count] for k in range(count) if ordered[k::count]]


def workflow_row(label, extra, expect, inventory, env_args, workdir, layout, slices, timeout, count_requests):
    """The workflow form: issue.yml once, then deploy.yml in `slices` jobs started at once.

    Each slice is its own ansible-playbook with --limit to its hosts (as AWX's slice
    inventories hold them) and as many forks as it has hosts, so the slices together have
    the forks of the one-job run. Returns the combined row; wall = issue + the slices'
    wall (from the first start to the last end).
    """
    issue = playbook_row(label + '-issue', ISSUE, inventory, extra, env_args, os.path.join(workdir, label + '-issue'),
                         layout, expect, timeout)
    parts = awx_slices(layout.hosts, slices)
    requests_before = count_requests()
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(parts)) as pool:
        futures = [pool.submit(playbook_row, '%s-deploy-%d' % (label, k), DEPLOY, inventory, None,
                               dict(env_args, forks=len(part)), os.path.join(workdir, '%s-deploy-%d' % (label, k)),
                               layout, None, timeout, limit=part)
                   for k, part in enumerate(parts, 1)]
        deploys = [f.result() for f in futures]
    deploy_wall = time.monotonic() - started
    requests_after = count_requests()
    errors = issue['errors'] + [e for d in deploys for e in d['errors']]
    # The slices never talk to the CA: any request while they ran is a failure.
    deploy_requests = (requests_after - requests_before) if None not in (requests_before, requests_after) else None
    if deploy_requests:
        errors.append('%d ACME requests reached the CA while the deploy slices ran' % deploy_requests)
    codes = [issue['rc']] + [d['rc'] for d in deploys]
    return {
        'label': label, 'rc': max(99 if rc is None else rc for rc in codes),
        'wall': issue['wall'] + deploy_wall, 'issue_wall': issue['wall'], 'deploy_wall': deploy_wall,
        'slice_walls': [d['wall'] for d in deploys], 'slice_hosts': [len(p) for p in parts],
        'count': len(layout.names), 'hosts': len(layout.hosts),
        'failures': issue['failures'] + sum(len(d['errors']) for d in deploys) + (1 if deploy_requests else 0),
        'actions': issue['actions'],
        'host_failures': dict(issue['host_failures'], **{h: n for d in deploys for h, n in d['host_failures'].items()}),
        'changed': issue['changed'], 'errors': errors, 'log': issue['log'],
        'task_seconds': issue['task_seconds'], 'phases': issue['phases'], 'slowest': issue['slowest'],
        'deploy_phases': [d['phases'] for d in deploys], 'deploy_acme_requests': deploy_requests,
    }


def run_renew_bench(args, workdir, collections_path, rows):
    layout = plan(args.certs, args.hosts)
    control_dir = os.path.join(workdir, 'cp')
    os.makedirs(control_dir)
    env_args = {'collections_path': collections_path, 'forks': args.forks or args.hosts, 'control_dir': control_dir,
                'pipelining': args.pipelining}
    test_hosts = [TestHost(name, args.host_offset + m, os.path.join(workdir, 'hosts', name),
                           fqdn='%s.%s' % (name, ZONE), lock_timeout=10)
                  for m, name in enumerate(layout.hosts, 1)]
    store = os.path.join(workdir, 'store')
    timeout = 900 + 30 * args.certs
    with contextlib.ExitStack() as stack:
        bed = stack.enter_context(Testbed(workdir=os.path.join(workdir, 'bed')))
        print('bench: test bed up (moto, DNS, Pebble); starting Pebble http_port=80 validity 3600 s and %d test '
              'hosts at 127.0.0.%d-%d...' % (args.hosts, 10 + args.host_offset + 1, 10 + args.host_offset + args.hosts),
              file=sys.stderr, flush=True)
        pebble = bed.new_pebble(http_port=80, validity_seconds=3600)
        # Stopped last-in-first-out: SSH masters, then hosts (every process in their
        # namespaces, nginx included), then the bed.
        stack.callback(_stop_and_record, test_hosts, rows)
        stack.callback(stop_ssh_masters, control_dir)
        started = time.monotonic()
        start_hosts(test_hosts, timeout=120)
        link_hosts(test_hosts)
        hosts_up = time.monotonic() - started
        zone_id = bed.create_zone(ZONE)
        for host in test_hosts:
            bed.upsert_record(zone_id, host.fqdn, 'A', [host.address])
            for cert in layout.host_certs[host.name]:
                for domain in cert['domains']:
                    bed.upsert_record(zone_id, domain, 'A', [host.address])
        inventory = write_bench_inventory(os.path.join(workdir, 'inventory.yml'), test_hosts, layout, bed, pebble,
                                          store, args.concurrency)
        print('bench: %d hosts up in %.1f s; inventory %s (%d DNS-01 certificates in %d groups, %d HTTP-01 in '
              'host_vars)' % (args.hosts, hosts_up, inventory, layout.dns_count, len(layout.groups),
                              layout.http_count), file=sys.stderr, flush=True)
        bed_view = types.SimpleNamespace(pebble=pebble)
        runs = [
            ('onboard', ONBOARD, None, 'issue', env_args),
            ('renew-due', RENEW, {'autotls_renew_before': {'fraction': 0.99999}}, 'renew', env_args),
            ('renew-quiet', RENEW, None, 'none', env_args),
        ]
        if not args.skip_host_cost:
            # The same quiet night over the first N/4 and N/2 hosts: the cost of each extra host.
            for k in host_steps(len(layout.hosts)):
                runs.append(('renew-quiet-hosts-%d' % k, RENEW, None, 'none', env_args, layout.hosts[:k]))
        if args.baseline_ref:
            baseline = export_collection(args.baseline_ref, os.path.join(workdir, 'baseline'))
            runs.append(('renew-quiet-baseline',
                         os.path.join(baseline, 'ansible_collections', 'autotls', 'acme', 'playbooks', 'renew.yml'),
                         None, 'none', dict(env_args, collections_path=baseline)))
        if args.slices:
            # The workflow form on the same hosts and store: everything due, then nothing due.
            runs += [('workflow-due', None, {'autotls_renew_before': {'fraction': 0.99999}}, 'renew', env_args),
                     ('workflow-quiet', None, None, 'none', env_args)]
        before = stored_serials(store, layout.names)
        for label, playbook, extra, expect, run_env_args, *limit in runs:
            stop_ssh_masters(control_dir)
            print('bench: %s (%s)...' % (label, os.path.basename(playbook or 'issue.yml + deploy.yml slices')),
                  file=sys.stderr, flush=True)
            probe = DnsProbe(bed.dns.address, '_acme-challenge.env1.%s' % ZONE)
            requests_before = pebble_request_count(bed_view)
            load_before = os.getloadavg()[0]
            probe.start()
            try:
                if playbook is None:
                    row = workflow_row(label, extra, expect, inventory, run_env_args, workdir, layout, args.slices,
                                       timeout, lambda: pebble_request_count(bed_view))
                else:
                    row = playbook_row(label, playbook, inventory, extra, run_env_args, os.path.join(workdir, label),
                                       layout, expect, timeout, limit=limit[0] if limit else None)
            finally:
                probe.stop()
            requests_after = pebble_request_count(bed_view)
            row['acme_requests'] = (requests_after - requests_before
                                    if None not in (requests_before, requests_after) else None)
            row['dns_probe'] = dict(probe.summary() or {}, load=(load_before, os.getloadavg()[0]))
            after = stored_serials(store, layout.names)
            row['reissued'] = sum(1 for n in layout.names if after[n] and after[n] != before.get(n))
            row['txt_left'] = sum(len(v) for v in leftover_challenge_values(bed).values())
            ok, stale, errors = check_served(test_hosts, layout, after)
            row['served'] = {'ok': ok, 'stale': stale, 'errors': errors}
            if stale or errors:
                row['failures_served'] = len(stale) + len(errors)
            if label.startswith('renew-quiet') or label == 'workflow-quiet':
                row['changed_hosts'] = {h: c for h, c in row['changed'].items() if c}
            rows.append(row)
            print('bench: %s: rc=%s, %.1f s, actions %s' % (label, row['rc'], row['wall'], row['actions']),
                  file=sys.stderr, flush=True)
            before = after
            if label == 'onboard' and row['rc'] != 0:
                print('bench: onboarding failed; the renew runs are skipped', file=sys.stderr, flush=True)
                break


def export_collection(ref, dest):
    """The collection as of git revision `ref`, as <dest>/ansible_collections/autotls/acme; returns dest."""
    target = os.path.join(dest, 'ansible_collections', 'autotls', 'acme')
    os.makedirs(target)
    archive = subprocess.run(['git', '-C', REPO_ROOT, 'archive', '--format=tar', ref], capture_output=True, check=False)
    if archive.returncode != 0:
        raise RuntimeError('git archive %s: %s' % (ref, archive.stderr.decode(errors='replace').strip()))
    subprocess.run(['tar', '-x', '-C', target], input=archive.stdout, check=True)
    return dest


def _stop_and_record(test_hosts, rows):
    try:
        stop_hosts(test_hosts)
    finally:
        problems = host_leftovers(test_hosts)
        if problems:
            rows.append({'label': 'cleanup', 'errors': problems})


# ---- (c): the expiry scan -------------------------------------------------------------------

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _ca(cn, key, issuer_cert=None, issuer_key=None, days=3650):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1))
               .not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_endpoint_certificates(directory, count):
    """A root, an intermediate, and per endpoint a leaf with its own key and not-after.

    Returns (root path, [{name, fullchain, key, not_after}]); endpoint i expires i hours
    and i*7 seconds after endpoint 0, so every not-after is distinct.
    """
    os.makedirs(directory)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _ca('Bench Scan Root', root_key)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _ca('Bench Scan Intermediate', inter_key, root, root_key, days=1825)
    root_path = os.path.join(directory, 'root.pem')
    with open(root_path, 'wb') as f:
        f.write(_pem(root))
    entries = []
    for i in range(count):
        name = 'ep%d.scan.%s' % (i + 1, ZONE)
        key = ec.generate_private_key(ec.SECP256R1())
        not_after = NOW + datetime.timedelta(days=10, hours=i, seconds=7 * i)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(inter.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()),
                               critical=False)
                .sign(inter_key, hashes.SHA256()))
        fullchain = os.path.join(directory, 'ep%d.fullchain.pem' % (i + 1))
        keyfile = os.path.join(directory, 'ep%d.key.pem' % (i + 1))
        with open(fullchain, 'wb') as f:
            f.write(_pem(cert) + _pem(inter))
        with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as f:
            f.write(_pem(key))
        entries.append({'name': name, 'fullchain': fullchain, 'key': keyfile, 'not_after': not_after})
    return root_path, entries


def start_tls_servers(directory, entries, started):
    """Start ceil(N/128) listener processes; returns the endpoints [{host, port, server_name, not_after}]."""
    endpoints = []
    for s, first in enumerate(range(0, len(entries), ENDPOINTS_PER_SERVER)):
        chunk = entries[first:first + ENDPOINTS_PER_SERVER]
        spec = os.path.join(directory, 'server%d.json' % s)
        ports_path = os.path.join(directory, 'server%d.ports.json' % s)
        with open(spec, 'w') as f:
            json.dump([{'fullchain': e['fullchain'], 'key': e['key']} for e in chunk], f)
        proc = start_process([sys.executable, os.path.abspath(__file__), '--serve-tls', spec, ports_path],
                             directory, name='tls-server%d' % s)
        started.append(proc)
        proc.wait_ready(lambda: os.path.exists(ports_path), 120, 'TLS listener process %d' % s)
        with open(ports_path) as f:
            ports = json.load(f)
        endpoints += [{'host': '127.0.0.1', 'port': port, 'server_name': e['name'], 'not_after': e['not_after']}
                      for e, port in zip(chunk, ports)]
    # Every listener answers a handshake before anything is timed.
    for ep in endpoints[::max(1, len(endpoints) // 8)]:
        wait_until(lambda: _handshake(ep), 10, 'TLS on 127.0.0.1:%d' % ep['port'])
    return endpoints


def _handshake(ep):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((ep['host'], ep['port']), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=ep['server_name']):
            return True


SCAN_PLAYBOOK = """\
- name: Expiry scan with autotls.acme.cert_info
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Expiry scan of every endpoint
      autotls.acme.cert_info:
        endpoints: "{{ scan.endpoints }}"
        ca_bundle: "{{ scan.ca_bundle }}"
      register: scan_result
"""

# The usual shell one-liner, once per endpoint; stdin of s_client is /dev/null so it
# neither waits for input nor eats the endpoint list.
SCAN_SCRIPT = r"""#!/bin/bash
while read -r host port name; do
    end=$(openssl s_client -connect "$host:$port" -servername "$name" </dev/null 2>/dev/null \
          | openssl x509 -noout -enddate 2>/dev/null)
    printf '%s:%s %s\n' "$name" "$port" "${end#notAfter=}"
done < "$1"
"""


def _iso(dt):
    return dt.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _openssl_date(text):
    """'Mar  5 10:00:00 2027 GMT' -> ISO 8601 UTC, None if unparsable."""
    try:
        parsed = datetime.datetime.strptime(' '.join(text.split()), '%b %d %H:%M:%S %Y GMT')
    except ValueError:
        return None
    return _iso(parsed.replace(tzinfo=datetime.timezone.utc))


def run_scan_bench(args, workdir, collections_path, rows):
    scandir = os.path.join(workdir, 'scan')
    print('bench: making %d endpoint certificates...' % args.endpoints, file=sys.stderr, flush=True)
    root_path, entries = make_endpoint_certificates(os.path.join(scandir, 'pki'), args.endpoints)
    servers = []
    try:
        endpoints = start_tls_servers(os.path.join(scandir, 'pki'), entries, servers)
        print('bench: %d TLS endpoints on 127.0.0.1 in %d processes' % (len(endpoints), len(servers)),
              file=sys.stderr, flush=True)
        expected = {'%s:%d' % (e['server_name'], e['port']): _iso(e['not_after']) for e in endpoints}

        # cert_info through ansible-playbook, every endpoint in one task.
        rundir = os.path.join(scandir, 'module')
        os.makedirs(rundir)
        vars_file = os.path.join(rundir, 'scan.json')
        with open(vars_file, 'w') as f:
            json.dump({'scan': {'ca_bundle': root_path, 'endpoints': [
                {'host': e['host'], 'port': e['port'], 'server_name': e['server_name']} for e in endpoints]}}, f)
        playbook = os.path.join(rundir, 'playbook.yml')
        with open(playbook, 'w') as f:
            f.write(SCAN_PLAYBOOK)
        record = os.path.join(rundir, 'tasks.jsonl')
        log = os.path.join(rundir, 'ansible.log')
        env = ansible_env(collections_path, record, os.path.join(rundir, 'results.jsonl'), forks=5,
                          control_dir=os.path.join(rundir, 'cp'))
        print('bench: scan with autotls.acme.cert_info...', file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        rc, wall = run_ansible(['-i', 'localhost,', '-e', '@' + vars_file, playbook], env, rundir, log,
                               timeout=300 + args.endpoints)
        load_after = os.getloadavg()[0]
        tasks = [r for r in read_records(record) if r['task'] == SCAN_TASK]
        result = tasks[-1]['result'] if tasks else {}
        seen_module = {}
        statuses = {}
        errors = []
        for r in result.get('results') or []:
            key = '%s:%s' % (r.get('server_name'), r.get('port'))
            statuses[r.get('status')] = statuses.get(r.get('status'), 0) + 1
            if r.get('reachable') and r.get('not_after'):
                seen_module[key] = r['not_after']
            else:
                errors.append('%s: %s %s' % (key, r.get('status'), r.get('error')))
        if rc != 0 or not tasks:
            errors.append('ansible-playbook rc=%s, log tail:\n%s' % (rc, log_tail(log)))
        rows.append({'label': 'scan-module', 'rc': rc, 'wall': wall, 'count': len(endpoints),
                     'task_seconds': {SCAN_TASK: tasks[-1]['seconds']} if tasks else {},
                     'failures': len(endpoints) - len(seen_module), 'statuses': statuses,
                     'backend': result.get('endpoint_backend'), 'errors': errors, 'log': log,
                     'load': (load_before, load_after),
                     'wrong': sorted(k for k, v in seen_module.items() if expected.get(k) != v)})

        # The bash loop over the same endpoints.
        rundir = os.path.join(scandir, 'openssl')
        os.makedirs(rundir)
        listing = os.path.join(rundir, 'endpoints.txt')
        with open(listing, 'w') as f:
            f.writelines('%s %d %s\n' % (e['host'], e['port'], e['server_name']) for e in endpoints)
        script = os.path.join(rundir, 'scan.sh')
        with open(script, 'w') as f:
            f.write(SCAN_SCRIPT)
        out_path = os.path.join(rundir, 'out.txt')
        print('bench: scan with a bash loop of openssl s_client...', file=sys.stderr, flush=True)
        env = dict(os.environ, LC_ALL='C')
        load_before = os.getloadavg()[0]
        with open(out_path, 'wb') as out, open(os.path.join(rundir, 'stderr.txt'), 'wb') as err:
            started = time.monotonic()
            proc = subprocess.Popen(['/bin/bash', script, listing], cwd=rundir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True)
            try:
                rc = proc.wait(300 + 2 * args.endpoints)
            except subprocess.TimeoutExpired:
                _stop_group(proc)
                rc = None
            except BaseException:
                _stop_group(proc)
                raise
            finally:
                _stop_group(proc, only_leftovers=True)
            wall = time.monotonic() - started
        load_after = os.getloadavg()[0]
        seen_openssl = {}
        errors = []
        with open(out_path, encoding='utf-8', errors='replace') as f:
            for line in f:
                key, _space, date = line.rstrip('\n').partition(' ')
                iso = _openssl_date(date) if date.strip() else None
                if iso:
                    seen_openssl[key] = iso
                else:
                    errors.append('%s: no notAfter (%r)' % (key, date))
        if rc != 0:
            errors.append('bash loop rc=%s' % rc)
        rows.append({'label': 'scan-openssl', 'rc': rc, 'wall': wall, 'count': len(endpoints),
                     'failures': len(endpoints) - len(seen_openssl), 'errors': errors, 'log': out_path,
                     'load': (load_before, load_after),
                     'wrong': sorted(k for k, v in seen_openssl.items() if expected.get(k) != v)})

        both = set(seen_module) & set(seen_openssl)
        rows.append({'label': 'scan-compare', 'both': len(both),
                     'differ': sorted(k for k in both if seen_module[k] != seen_openssl[k]),
                     'only_module': sorted(set(seen_module) - set(seen_openssl)),
                     'only_openssl': sorted(set(seen_openssl) - set(seen_module)), 'errors': []})
    finally:
        for proc in reversed(servers):
            proc.stop()


# ---- report -------------------------------------------------------------------------------

ROW_TITLES = {
    'onboard': 'onboard.yml: issue all, deploy',
    'renew-due': '(a) renew.yml, all due',
    'renew-quiet': '(b) renew.yml, nothing due',
    'renew-quiet-baseline': '(b) same, collection at baseline',
    'workflow-due': '(w) workflow, all due',
    'workflow-quiet': '(w) workflow, nothing due',
    'scan-module': '(c) cert_info, one task',
    'scan-openssl': '(c) bash loop openssl s_client',
}


def row_title(label):
    if label.startswith('renew-quiet-hosts-'):
        return '(b) same, first %s hosts only' % label.rsplit('-', 1)[1]
    return ROW_TITLES.get(label, label)


def host_cost(rows):
    """[(hosts from, hosts to, seconds per extra host)] from the quiet-night rows, fewest hosts first."""
    points = sorted((row['hosts'], row['wall']) for row in rows
                    if row['label'] == 'renew-quiet' or row['label'].startswith('renew-quiet-hosts-'))
    return [(a[0], b[0], (b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(points, points[1:]) if b[0] > a[0]]


def print_report(rows, args, command):
    print()
    print('Renewal at scale and expiry scan, on %d CPUs; %s' % (os.cpu_count(), command))
    from ansible.release import __version__ as core_version
    print('ansible-core %s (%s), forks %d, SSH pipelining %s' % (
        core_version, sys.executable, args.forks or args.hosts, 'on' if args.pipelining else 'off (Ansible default)'))
    print()
    header = '%-34s %6s %6s %9s %9s %9s %9s' % ('run', 'items', 'hosts', 'wall s', 's/item', 'failures', 'rc')
    print(header)
    print('-' * len(header))
    for row in rows:
        if row['label'] not in ROW_TITLES and not row['label'].startswith('renew-quiet-hosts-'):
            continue
        print('%-34s %6d %6s %9.1f %9.3f %9d %9s' % (
            row_title(row['label']), row['count'], row.get('hosts', '-'), row['wall'], row['wall'] / row['count'],
            row['failures'] + row.get('failures_served', 0), row['rc']))
    print()
    print('wall s: the whole ansible-playbook run (or the whole bash loop), start-up included.')
    print('failures: renew runs - certificates failed, never reported, or with another action than expected,'
          ' plus (host, certificate) pairs not served with the store\'s serial afterwards;'
          ' scans - endpoints without a not-after.')
    for row in rows:
        label = row['label']
        if label in ('onboard', 'renew-due', 'renew-quiet', 'renew-quiet-baseline', 'workflow-due', 'workflow-quiet') \
                or label.startswith('renew-quiet-'):
            print()
            print('%s: actions %s; reissued %d; ACME requests %s; TXT left %d; served ok %d, stale %d, errors %d'
                  % (row_title(label), json.dumps(row['actions'], sort_keys=True), row['reissued'],
                     row['acme_requests'], row['txt_left'], row['served']['ok'], len(row['served']['stale']),
                     len(row['served']['errors'])))
            phases = row['phases']
            print('  time by phase (s): %s' % ', '.join('%s %.1f' % (k, v) for k, v in phases.items()))
            print('  slowest tasks: %s' % '; '.join('%s %.1f' % (t, s) for t, s in row['slowest']))
            probe = row.get('dns_probe') or {}
            if probe.get('queries'):
                figures = (1000 * (probe['median'] or 0), 1000 * (probe['max'] or 0), probe['over_1s'],
                           probe['queries'], probe['unanswered']) + tuple(probe['load'])
                print('  test-bed DNS: median %.0f ms, max %.0f ms, %d of %d over 1 s, %d unanswered;'
                      ' load average %.1f -> %.1f' % figures)
            if label.startswith('workflow-'):
                print('  issue.yml %.1f s, then %d deploy.yml slices at once %.1f s (slices of %s hosts: %s s);'
                      ' ACME requests during the slices: %s; phases above: issue.yml'
                      % (row['issue_wall'], len(row['slice_walls']), row['deploy_wall'],
                         '/'.join(str(n) for n in row['slice_hosts']),
                         ', '.join('%.1f' % w for w in row['slice_walls']), row['deploy_acme_requests']))
                print('  deploy phases per slice (s): %s' % ' | '.join(
                    ', '.join('%s %.1f' % (k, v) for k, v in phases.items() if v) for phases in row['deploy_phases']))
            if label.startswith('renew-quiet') or label == 'workflow-quiet':
                print('  tasks changed per host: %s' % (json.dumps(row.get('changed_hosts'), sort_keys=True) or '{}'))
            if row['host_failures']:
                print('  hosts with failed tasks: %s' % json.dumps(row['host_failures'], sort_keys=True))
        elif label in ('scan-module', 'scan-openssl'):
            print()
            extra = ''
            if label == 'scan-module':
                secs = row['task_seconds'].get(SCAN_TASK)
                extra = 'task itself %s s, backend %s, statuses %s; ' % (
                    '%.1f' % secs if secs is not None else '-', row.get('backend'),
                    json.dumps(row.get('statuses'), sort_keys=True))
            print('%s: %snot-after differing from the generated one: %d; load average %.1f -> %.1f'
                  % (ROW_TITLES[label], extra, len(row['wrong']), *row['load']))
        elif label == 'scan-compare':
            print()
            print('(c) not-after, cert_info vs openssl: %d endpoints seen by both, %d differ, %d only cert_info, '
                  '%d only openssl%s' % (row['both'], len(row['differ']), len(row['only_module']),
                                         len(row['only_openssl']),
                                         (': ' + ', '.join(row['differ'][:5])) if row['differ'] else ''))
    costs = host_cost(rows)
    if costs:
        print()
        print('cost per extra host, quiet night (wall s per host added): %s' % ', '.join(
            '%d -> %d hosts %.2f' % cost for cost in costs))
    for row in rows:
        problems = list(row.get('errors') or [])
        served = row.get('served') or {}
        problems += ['%s serves %s with serial %s, the store has %s' % s for s in served.get('stale', [])]
        problems += ['%s, %s: %s' % e for e in served.get('errors', [])]
        if problems:
            print()
            where = '; log %s' % row['log'] if row.get('log') else ''
            print('%s: %d problem(s)%s' % (row_title(row['label']), len(problems), where))
            for p in problems[:10]:
                print('  - %s' % p)
            if len(problems) > 10:
                print('  - ... %d more' % (len(problems) - 10))


def row_failed(row):
    if row['label'] == 'cleanup':
        return True
    if row['label'] == 'scan-compare':
        return bool(row['differ'] or row['only_module'] or row['only_openssl'])
    return bool(row.get('failures') or row.get('failures_served') or row.get('wrong') or row.get('rc') != 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--certs', type=int, default=100, help='certificates, half DNS-01, half HTTP-01 (100)')
    parser.add_argument('--hosts', type=int, default=10, help='SSH test hosts serving them (10)')
    parser.add_argument('--endpoints', type=int, default=500, help='TLS endpoints in the expiry scan (500)')
    parser.add_argument('--skip-renew', action='store_true', help='no onboard/renew runs')
    parser.add_argument('--skip-scan', action='store_true', help='no expiry scan')
    parser.add_argument('--host-offset', type=int, default=150,
                        help='test host indexes start after this (host M at 127.0.0.(10+offset+M); default 150, '
                             'clear of a running test suite)')
    parser.add_argument('--forks', type=int, help='Ansible forks (default: the number of hosts)')
    parser.add_argument('--pipelining', action='store_true',
                        help="Ansible's SSH pipelining for the renewal runs (default off, Ansible's default)")
    parser.add_argument('--concurrency', type=int, help='autotls_concurrency (default: the role default, 10)')
    parser.add_argument('--baseline-ref', metavar='REF',
                        help='also run (b) with the collection as of this git revision, right after (before/after)')
    parser.add_argument('--skip-host-cost', action='store_true',
                        help='no quiet-night runs over N/4 and N/2 hosts (the cost per extra host)')
    parser.add_argument('--slices', type=int, default=0, metavar='N',
                        help='also run the AWX workflow form on the same hosts: issue.yml once, then deploy.yml in N '
                             'slices started at once (AWX cuts: hosts sorted by name, every N-th), all due and quiet')
    parser.add_argument('--keep-workdir', action='store_true', help='keep inventory, logs, certificates')
    args = parser.parse_args(argv)
    if args.slices < 0 or args.slices > args.hosts:
        parser.error('--slices must be between 1 and --hosts (%d)' % args.hosts)
    if args.certs < 2 or args.hosts < 1 or args.endpoints < 1:
        parser.error('--certs must be at least 2, --hosts and --endpoints at least 1')
    if args.host_offset < 0 or args.host_offset + args.hosts > 245:
        parser.error('--host-offset + --hosts must stay within 245 (addresses 127.0.0.11-255)')

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        collections_path = collections_root()
    except OSError as exc:
        print('bench: setup failed: %s' % exc, file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix='autotls-bench-renew-')
    print('bench: work directory %s' % workdir, file=sys.stderr, flush=True)
    command = ' '.join([os.path.relpath(sys.executable, REPO_ROOT) if sys.executable.startswith(REPO_ROOT)
                        else sys.executable, 'bench/renew_scale.py'] + sys.argv[1:])
    rows = []
    setup_error = None
    try:
        if not args.skip_renew:
            run_renew_bench(args, workdir, collections_path, rows)
        if not args.skip_scan:
            run_scan_bench(args, workdir, collections_path, rows)
    except (KeyboardInterrupt, Interrupted) as exc:
        setup_error = 'interrupted (%s)' % (str(exc) or 'SIGINT')
    except Exception as exc:  # noqa: BLE001 - report it, with what was measured so far
        import traceback
        traceback.print_exc()
        setup_error = '%s: %s' % (type(exc).__name__, exc)
    finally:
        left = pids_mentioning(workdir)
        for pid in left:
            stop_pid(pid, timeout=3)
        if left:
            message = 'stopped %d leftover process(es) naming %s: %s' % (len(left), workdir, left)
            rows.append({'label': 'cleanup', 'errors': [message]})

    if args.baseline_ref:
        ROW_TITLES['renew-quiet-baseline'] = '(b) same, collection at %s' % args.baseline_ref[:12]
    print_report(rows, args, command)
    failed = setup_error is not None or any(row_failed(r) for r in rows)
    if setup_error:
        print('\nbench: stopped early: %s' % setup_error)
    if args.keep_workdir or failed:
        print('\nbench: work directory kept: %s' % workdir)
    else:
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    if setup_error and not rows:
        return 2
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
