#!/usr/bin/env python
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: many wildcard + apex certificates over ACME DNS-01 through Route53.

Three runs, each against its own fresh test bed (moto Route53, a DNS server answering
from moto's state, Pebble), side by side in one invocation:

  autotls-5    autotls.acme.certificate, all certificates in one task, Pebble's default
               5% nonce rejection
  autotls-30   the same with PEBBLE_WFE_NONCEREJECT=30; any failure fails the benchmark
  baseline     community.crypto.acme_certificate in its two-step pattern with
               amazon.aws.route53 in between, one loop per step over the certificates,
               from the `ansible` PyPI package in a separate venv

Certificate N covers `*.envN.example.test` and `envN.example.test` (one `_acme-challenge`
name with two TXT values). Hosted zones: example.test, envN.example.test for every fifth
N (longest suffix must win), and two decoys that are string suffixes but not DNS
suffixes of some names (nv1.example.test, v12.example.test).

Run with the project venv's Python (see bench/README.md):

    ${AUTOTLS_VENV:-.venv}/bin/python bench/issue_dns01.py [--count 50] [--baseline-count 50]
        [--skip-baseline] [--concurrency N] [--keep-workdir]

Exit status: 0 when the 30% run has no failure and no autotls run leaves an
`_acme-challenge` TXT value behind; 1 otherwise; 2 on a setup error.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
CALLBACK_DIR = os.path.join(BENCH_DIR, 'callback_plugins')
DEFAULT_VENV = os.environ.get('AUTOTLS_VENV') or os.path.join(REPO_ROOT, '.venv')
# Outside the checkout: other people work in the same tree (and a venv has no place in git).
DEFAULT_BASELINE_VENV = os.environ.get('AUTOTLS_BASELINE_VENV') or os.path.join(
    os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'autotls-bench', 'venv-baseline')


def _reexec_in_project_venv():
    """The test bed needs the project venv (moto_server next to sys.executable, boto3, dnslib)."""
    if os.path.exists(os.path.join(os.path.dirname(sys.executable), 'moto_server')):
        return
    python = os.path.join(DEFAULT_VENV, 'bin', 'python')
    if os.path.exists(python) and os.path.realpath(python) != os.path.realpath(sys.executable):
        os.execv(python, [python] + sys.argv)
    sys.exit('bench: run me with the project venv (make bootstrap; %s bench/issue_dns01.py)' % python)


_reexec_in_project_venv()
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests'))

import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from testbed.bed import Testbed  # noqa: E402
from testbed.collection import link_collection  # noqa: E402
from testbed.dns_server import decode_name, parse_txt_value  # noqa: E402

BASE_ZONE = 'example.test'
DECOY_ZONES = ('nv1.example.test', 'v12.example.test')


# ---- setup --------------------------------------------------------------------------------

def collections_root():
    """Link the checkout as ansible_collections/autotls/acme (as tests/conftest.py does)."""
    return link_collection(REPO_ROOT)


def write_account_key(path):
    key = ec.generate_private_key(ec.SECP256R1())
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return path


def ensure_baseline_venv(venv):
    """A venv with the `ansible` package (community.crypto, amazon.aws) and boto3."""
    python = os.path.join(venv, 'bin', 'python')
    probe = [python, '-c', 'import boto3, ansible_collections.community.crypto, ansible_collections.amazon.aws']
    if os.path.exists(os.path.join(venv, 'bin', 'ansible-playbook')) and \
            subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return venv
    print('bench: creating the baseline venv %s (pip install ansible boto3, a few minutes)' % venv,
          file=sys.stderr, flush=True)
    if not os.path.exists(python):
        base_python = getattr(sys, '_base_executable', None) or shutil.which('python3')
        subprocess.run([base_python, '-m', 'venv', venv], check=True)
    subprocess.run([python, '-m', 'pip', 'install', '-q', '--upgrade', 'pip'], check=True)
    subprocess.run([python, '-m', 'pip', 'install', '-q', 'ansible', 'boto3'], check=True)
    subprocess.run(probe, check=True)
    return venv


def collection_version(venv, fqcn):
    python = os.path.join(venv, 'bin', 'python')
    if fqcn == 'ansible_core':
        done = subprocess.run([python, '-c', 'from ansible.release import __version__; print(__version__)'],
                              capture_output=True, text=True, check=False)
        return done.stdout.strip() or '?'
    namespace, name = fqcn.split('.')
    code = ('import json, os, ansible_collections.%s.%s as c; '
            'print(json.load(open(os.path.join(list(c.__path__)[0], "MANIFEST.json")))'
            '["collection_info"]["version"])' % (namespace, name))
    done = subprocess.run([python, '-c', code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or '?'


def certificate_specs(count):
    return [{'name': 'env%d' % n, 'domains': ['*.env%d.example.test' % n, 'env%d.example.test' % n]}
            for n in range(1, count + 1)]


def specific_zones(count):
    return ['env%d.example.test' % n for n in range(5, count + 1, 5)]


def _labels(name):
    return decode_name(name).rstrip('.').split('.')


def zone_for(fqdn, zones):
    """Longest zone that is a DNS (label-wise) suffix of fqdn: what a careful user looks up."""
    labels = _labels(fqdn)
    best = None
    for zone in zones:
        zl = _labels(zone)
        if labels[-len(zl):] == zl and (best is None or len(zl) > len(_labels(best))):
            best = zone
    return best


def prepare_bed(bed, count):
    zones = [BASE_ZONE] + specific_zones(count) + list(DECOY_ZONES)
    for zone in zones:
        bed.create_zone(zone)
    return zones


def leftover_challenge_values(bed):
    """{record name: [values]} of every `_acme-challenge` TXT record left in any zone."""
    left = {}
    for zone_id in bed.zone_ids():
        for rrset in bed.record_sets(zone_id):
            name = decode_name(rrset['Name'])
            if rrset['Type'] == 'TXT' and name.startswith('_acme-challenge.'):
                left.setdefault(name, []).extend(
                    b''.join(parse_txt_value(r['Value'])).decode('utf-8', 'replace')
                    for r in rrset.get('ResourceRecords', []))
    return left


def valid_certificate_files(specs, path_of):
    """Names of the specs whose fullchain exists and covers exactly the requested names."""
    good = set()
    for spec in specs:
        path = path_of(spec)
        try:
            with open(path, 'rb') as f:
                cert = x509.load_pem_x509_certificate(f.read())
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (OSError, ValueError, x509.ExtensionNotFound):
            continue
        if set(sans.get_values_for_type(x509.DNSName)) == set(spec['domains']):
            good.add(spec['name'])
    return good


class DnsProbe(threading.Thread):
    """Times one TXT query to the bed's DNS server every `interval` s during a run.

    The CA validates DNS-01 through that server; when it answers slowly (the machine is
    busy), the CA's lookups time out and certificates fail for reasons outside the client.
    """

    def __init__(self, address, name, interval=0.25, timeout=5.0):
        super().__init__(daemon=True)
        host, port = address.rsplit(':', 1)
        self.host, self.port, self.qname = host, int(port), name
        self.interval, self.timeout = interval, timeout
        self.latencies = []   # seconds; None for a query that got no answer within timeout
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            started = time.monotonic()
            try:
                dns.query.udp(dns.message.make_query(self.qname, 'TXT'), self.host, port=self.port,
                              timeout=self.timeout)
                self.latencies.append(time.monotonic() - started)
            except (dns.exception.DNSException, OSError):
                self.latencies.append(None)
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(self.timeout + 1)

    def summary(self):
        answered = sorted(x for x in self.latencies if x is not None)
        if not self.latencies:
            return None
        return {'queries': len(self.latencies), 'unanswered': len(self.latencies) - len(answered),
                'median': answered[len(answered) // 2] if answered else None,
                'max': answered[-1] if answered else None,
                'over_1s': sum(1 for x in answered if x > 1.0)}


def timed_run(bed, *args, **kwargs):
    """run_playbook() with a DnsProbe on the bed's DNS server; returns (rc, wall, probe summary)."""
    probe = DnsProbe(bed.dns.address, '_acme-challenge.env1.example.test')
    load_before = os.getloadavg()[0]
    started_epoch = time.time()
    probe.start()
    try:
        rc, wall = run_playbook(*args, **kwargs)
    finally:
        probe.stop()
    summary = probe.summary() or {}
    summary['load'] = (load_before, os.getloadavg()[0])
    summary['timeline'] = pebble_timeline(bed, started_epoch)
    return rc, wall, summary


# ---- running ansible-playbook -------------------------------------------------------------

def pebble_request_count(bed):
    """Requests Pebble's WFE has handled so far (it logs one line per request)."""
    try:
        with open(bed.pebble.process.log_path, 'rb') as f:
            return sum(1 for line in f if b'-> calling handler()' in line)
    except OSError:
        return None


PEBBLE_EVENTS = (
    ('orders created', b'Added order'),
    ('validations', b'Pulled a task from the Tasks queue'),
    ('certificates issued', b'Issued certificate'),
)


def pebble_timeline(bed, started_epoch):
    """{event: (first, last, count)} in seconds since `started_epoch`, from Pebble's log.

    Pebble stamps its log lines to the second (local time), so these are +-1 s.
    """
    timeline = {}
    try:
        with open(bed.pebble.process.log_path, 'rb') as f:
            lines = f.readlines()
    except OSError:
        return timeline
    for label, marker in PEBBLE_EVENTS:
        stamps = []
        for line in lines:
            if marker in line:
                parts = line.split()
                try:
                    stamps.append(time.mktime(time.strptime(
                        (parts[1] + b' ' + parts[2]).decode(), '%Y/%m/%d %H:%M:%S')) - started_epoch)
                except (IndexError, ValueError):
                    continue
        if stamps:
            timeline[label] = (min(stamps), max(stamps), len(stamps))
    return timeline


def ansible_env(bed, collections_path, record_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(bed.env())
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_path,
        'ANSIBLE_CALLBACK_PLUGINS': CALLBACK_DIR,
        'ANSIBLE_CALLBACKS_ENABLED': 'bench_record',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
        'AUTOTLS_BENCH_RECORD': record_path,
    })
    return env


def run_playbook(ansible_playbook, playbook, vars_file, env, cwd, log_path, timeout):
    """Run ansible-playbook in its own process group; returns (rc, wall seconds).

    The whole group is stopped on timeout or interrupt, so nothing outlives the bench.
    """
    with open(log_path, 'wb') as log:
        started = time.monotonic()
        proc = subprocess.Popen([ansible_playbook, '-i', 'localhost,', '-e', '@' + vars_file, playbook], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except BaseException:
            _stop_group(proc)
            raise
        finally:
            _stop_group(proc, only_leftovers=True)
        return rc, time.monotonic() - started


def _stop_group(proc, only_leftovers=False):
    if not only_leftovers and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # forked module processes left in the group
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def read_records(path):
    try:
        with open(path, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


def log_tail(path, lines=25):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


# ---- (a), (b): autotls.acme.certificate ---------------------------------------------------

AUTOTLS_PLAYBOOK = """\
- name: Issue the benchmark certificates with autotls.acme
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: Issue all certificates in one task
      autotls.acme.certificate:
        acme_directory: "{{{{ bench.directory }}}}"
        acme_ca_bundle: "{{{{ bench.ca_bundle }}}}"
        account_key_src: "{{{{ bench.account_key }}}}"
        account_email: bench@example.test
        terms_agreed: true
        aws_endpoint_url: "{{{{ bench.aws_endpoint_url }}}}"
        dns_servers: "{{{{ bench.dns_servers }}}}"
        dest: "{{{{ bench.dest }}}}"
        certificates: "{{{{ bench.certificates }}}}"
{concurrency}
"""


def run_autotls(label, count, account_key, collections_path, workdir, nonce_reject=None, concurrency=None):
    rundir = os.path.join(workdir, label)
    os.makedirs(rundir)
    pebble_env = {'PEBBLE_WFE_NONCEREJECT': str(nonce_reject)} if nonce_reject is not None else None
    specs = certificate_specs(count)
    row = {'label': label, 'count': count}
    with Testbed(workdir=os.path.join(rundir, 'bed'), pebble_env=pebble_env) as bed:
        prepare_bed(bed, count)
        dest = os.path.join(rundir, 'certs')
        vars_file = os.path.join(rundir, 'bench.json')
        with open(vars_file, 'w') as f:
            json.dump({'bench': {
                'directory': bed.pebble.directory_url, 'ca_bundle': bed.pebble.ca_bundle,
                'account_key': account_key, 'aws_endpoint_url': bed.moto.endpoint_url,
                'dns_servers': [bed.dns.address], 'dest': dest, 'certificates': specs}}, f)
        playbook = os.path.join(rundir, 'playbook.yml')
        with open(playbook, 'w') as f:
            f.write(AUTOTLS_PLAYBOOK.format(
                concurrency='        concurrency: %d' % concurrency if concurrency else ''))
        record = os.path.join(rundir, 'tasks.jsonl')
        log = os.path.join(rundir, 'ansible.log')
        requests_before = pebble_request_count(bed)
        rc, wall, dns_probe = timed_run(
            bed, os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook, vars_file,
            ansible_env(bed, collections_path, record), rundir, log, timeout=900 + 10 * count)
        requests_after = pebble_request_count(bed)
        leftovers = leftover_challenge_values(bed)

    tasks = [r for r in read_records(record) if r['action'].endswith('certificate')]
    result = tasks[-1]['result'] if tasks else {}
    returned = result.get('certificates') or []
    failed_entries = [c for c in returned if c.get('failed')]
    # A certificate the module never reported on (crash, timeout) counts as failed too.
    failures = len(failed_entries) + max(0, count - len(returned))
    files_ok = valid_certificate_files(specs, lambda s: os.path.join(dest, s['name'], 'fullchain.pem'))
    row.update(rc=rc, wall=wall, dns_probe=dns_probe, task_seconds=tasks[-1]['seconds'] if tasks else None,
               failures=failures, files_ok=len(files_ok), leftovers=leftovers,
               acme_requests=(requests_after - requests_before)
               if None not in (requests_before, requests_after) else None,
               errors=[('%s: %s' % (c.get('name'), c.get('msg'))) for c in failed_entries],
               module_msg=result.get('msg'), log=log, record=record, timings=result.get('timings') or {})
    if rc != 0 and not returned:
        row['errors'].append('ansible-playbook rc=%d, log tail:\n%s' % (rc, log_tail(log)))
    return row


# ---- (c): community.crypto two-step + amazon.aws.route53 ----------------------------------

BASELINE_PLAYBOOK = """\
# community.crypto's two-step ACME flow, one loop per step over all certificates, with
# amazon.aws.route53 writing and removing the DNS-01 TXT records in between.
- name: Issue the benchmark certificates with community.crypto and amazon.aws
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    certs: "{{ bench.certificates }}"
    orders_needing_dns: "{{ (acme_orders.results | default([])) | selectattr('challenge_data_dns', 'defined') | list }}"
  module_defaults:
    community.crypto.acme_certificate:
      acme_version: 2
      acme_directory: "{{ bench.directory }}"
      account_key_src: "{{ bench.account_key }}"
      account_email: bench@example.test
      terms_agreed: true
      modify_account: true
      challenge: dns-01
      remaining_days: 30
    amazon.aws.route53:
      endpoint_url: "{{ bench.aws_endpoint_url }}"
      type: TXT
      ttl: 60
  tasks:
    - name: Private key per certificate
      community.crypto.openssl_privatekey:
        path: "{{ bench.dest }}/{{ item.name }}.key"
        type: ECC
        curve: secp256r1
        mode: "0600"
      loop: "{{ certs }}"
      loop_control:
        label: "{{ item.name }}"

    - name: CSR per certificate
      community.crypto.openssl_csr:
        path: "{{ bench.dest }}/{{ item.name }}.csr"
        privatekey_path: "{{ bench.dest }}/{{ item.name }}.key"
        subject_alt_name: "{{ item.domains | map('regex_replace', '^', 'DNS:') | list }}"
      loop: "{{ certs }}"
      loop_control:
        label: "{{ item.name }}"

    - name: Order, validate, finalize; challenge records always removed
      block:
        - name: Step 1 - create the orders and get the DNS-01 challenge values
          community.crypto.acme_certificate:
            csr: "{{ bench.dest }}/{{ item.name }}.csr"
            fullchain_dest: "{{ bench.dest }}/{{ item.name }}.fullchain.pem"
          loop: "{{ certs }}"
          loop_control:
            label: "{{ item.name }}"
          register: acme_orders

        # Wildcard and apex share one _acme-challenge name: one record, two values.
        - name: Publish the challenge TXT records
          amazon.aws.route53:
            state: present
            zone: "{{ item.item.zone }}"
            record: "{{ item.challenge_data_dns.keys() | first }}"
            value: "{{ item.challenge_data_dns.values() | first | map('to_json') | list }}"
            overwrite: true
            wait: true
          loop: "{{ orders_needing_dns }}"
          loop_control:
            label: "{{ item.item.name }}"

        - name: Step 2 - let the CA validate, then finalize and download
          community.crypto.acme_certificate:
            csr: "{{ bench.dest }}/{{ item.item.name }}.csr"
            fullchain_dest: "{{ bench.dest }}/{{ item.item.name }}.fullchain.pem"
            data: "{{ item }}"
          loop: "{{ orders_needing_dns }}"
          loop_control:
            label: "{{ item.item.name }}"
          register: finalized

      always:
        - name: Remove the challenge TXT records
          amazon.aws.route53:
            state: absent
            zone: "{{ item.item.zone }}"
            record: "{{ item.challenge_data_dns.keys() | first }}"
            value: "{{ item.challenge_data_dns.values() | first | map('to_json') | list }}"
          loop: "{{ orders_needing_dns }}"
          loop_control:
            label: "{{ item.item.name }}"
"""


def run_baseline(label, count, account_key, venv, workdir):
    rundir = os.path.join(workdir, label)
    os.makedirs(rundir)
    specs = certificate_specs(count)
    row = {'label': label, 'count': count}
    with Testbed(workdir=os.path.join(rundir, 'bed')) as bed:
        zones = prepare_bed(bed, count)
        for spec in specs:
            spec['zone'] = zone_for('_acme-challenge.' + spec['domains'][1], zones)
        dest = os.path.join(rundir, 'certs')
        os.makedirs(dest)
        vars_file = os.path.join(rundir, 'bench.json')
        with open(vars_file, 'w') as f:
            json.dump({'bench': {
                'directory': bed.pebble.directory_url, 'account_key': account_key,
                'aws_endpoint_url': bed.moto.endpoint_url, 'dest': dest, 'certificates': specs}}, f)
        playbook = os.path.join(rundir, 'playbook.yml')
        with open(playbook, 'w') as f:
            f.write(BASELINE_PLAYBOOK)
        record = os.path.join(rundir, 'tasks.jsonl')
        log = os.path.join(rundir, 'ansible.log')
        # Only the bundled collections: an empty collections path hides ~/.ansible.
        empty = os.path.join(rundir, 'no-collections')
        os.makedirs(empty)
        env = ansible_env(bed, empty, record)
        # community.crypto has validate_certs only: trust Pebble's listener through the
        # default verify paths instead (Ansible's urls honour SSL_CERT_FILE).
        env['SSL_CERT_FILE'] = bed.pebble.ca_bundle
        requests_before = pebble_request_count(bed)
        rc, wall, dns_probe = timed_run(
            bed, os.path.join(venv, 'bin', 'ansible-playbook'), playbook, vars_file, env, rundir, log,
            timeout=600 + 60 * count)
        requests_after = pebble_request_count(bed)
        leftovers = leftover_challenge_values(bed)

    records = read_records(record)
    files_ok = valid_certificate_files(specs, lambda s: os.path.join(dest, s['name'] + '.fullchain.pem'))
    errors = []
    steps = []
    for r in records:
        items = r['result'].get('results') or []
        failed_items = [i for i in items if i.get('failed')]
        steps.append((r['task'], r['seconds'], len(items), len(failed_items)))
        for i in failed_items[:3]:
            errors.append('%s [%s]: %s' % (r['task'], (i.get('item') or {}).get('name')
                                           or ((i.get('item') or {}).get('item') or {}).get('name'),
                                           i.get('msg')))
        if r['status'] == 'failed' and not items:
            errors.append('%s: %s' % (r['task'], r['result'].get('msg')))
    if rc != 0 and not errors:
        errors.append('ansible-playbook rc=%d, log tail:\n%s' % (rc, log_tail(log)))
    row.update(rc=rc, wall=wall, dns_probe=dns_probe, failures=count - len(files_ok), files_ok=len(files_ok),
               leftovers=leftovers, steps=steps, errors=errors, log=log, record=record,
               acme_requests=(requests_after - requests_before)
               if None not in (requests_before, requests_after) else None)
    return row


# ---- report -------------------------------------------------------------------------------

ROW_TITLES = {
    'autotls-5': 'autotls 5% nonce reject',
    'autotls-30': 'autotls 30% nonce reject',
    'baseline': 'community.crypto two-step 5%',
}


# The module's `timings` phases, in run order, with what the bench prints for them.
PHASES = (
    ('imports', 'module imports (acme, boto3, ...)'),
    ('plan', 'plan (read the files)'),
    ('ari', 'ARI'),
    ('account', 'account'),
    ('orders', 'orders'),
    ('dns_zones_early', 'DNS zones (looked up while ordering)'),
    ('dns_zones', 'DNS zones and name servers'),
    ('dns_write', 'DNS write'),
    ('dns_insync', 'DNS INSYNC'),
    ('dns_authoritative', 'DNS authoritative check'),
    ('validation', 'validation'),
    ('finalize', 'finalize (key, CSR, issue, download)'),
    ('write', 'write files'),
    ('cleanup', 'cleanup (remove TXT values)'),
)


def phase_rows(row):
    """[(label, seconds)] for one run: Ansible's share first, then the module's own phases."""
    timings = row.get('timings') or {}
    task = row.get('task_seconds')
    out = []
    if task is not None:
        out.append(('ansible-playbook start-up and end', row['wall'] - task))
        if 'total' in timings:
            out.append(('module start (AnsiballZ, python, ansible)', task - timings['total']))
    for key, label in PHASES:
        if key in timings:
            out.append((label, timings[key]))
    if 'total' in timings:
        out.append(('module total (from imports to exit)', timings['total']))
    return out


def print_phases(rows):
    """One column per autotls run: seconds per phase, as the module measured them."""
    runs = [r for r in rows if r.get('timings')]
    if not runs:
        return
    labels = []
    values = {}
    for row in runs:
        for label, seconds in phase_rows(row):
            if label not in labels:
                labels.append(label)
            values[(row['label'], label)] = seconds
    print()
    print('Per phase, seconds of wall time (parallel phases: time during which any certificate was in it;'
          ' phases overlap):')
    print('  %-44s %s' % ('phase', ' '.join('%12s' % r['label'] for r in runs)))
    for label in labels:
        print('  %-44s %s' % (label, ' '.join(
            '%12s' % ('-' if (r['label'], label) not in values else '%.2f' % values[(r['label'], label)])
            for r in runs)))


def print_report(rows, versions):
    print()
    print('DNS-01 issuance benchmark: wildcard + apex per certificate, Pebble 2.4 on loopback')
    print(versions)
    print()
    header = '%-30s %6s %9s %9s %9s %8s %9s %8s' % (
        'run', 'certs', 'total s', 's/cert', 'failures', 'TXT left', 'ACME req', 'req/cert')
    print(header)
    print('-' * len(header))
    for row in rows:
        left = sum(len(v) for v in row['leftovers'].values())
        req = row.get('acme_requests')
        print('%-30s %6d %9.1f %9.3f %9d %8d %9s %8s' % (
            ROW_TITLES[row['label']], row['count'], row['wall'], row['wall'] / row['count'],
            row['failures'], left, '-' if req is None else req,
            '-' if req is None else '%.1f' % (req / row['count'])))
    print()
    print('total s: wall time of the whole ansible-playbook run (Ansible start-up included).')
    for row in rows:
        if row.get('task_seconds') is not None:
            print('%s: the certificate task itself took %.1f s (%.3f s per certificate).'
                  % (ROW_TITLES[row['label']], row['task_seconds'], row['task_seconds'] / row['count']))
        for task, seconds, items, failed in row.get('steps', []):
            print('  %-62s %7.1f s  %3d items  %2d failed' % (task[:62], seconds or 0.0, items, failed))
    print_phases(rows)
    print()
    print('Machine: %d CPUs. Test-bed DNS server (Pebble validates through it), one TXT query every'
          ' 0.25 s during each run:' % os.cpu_count())
    for row in rows:
        probe = row.get('dns_probe') or {}
        if probe.get('queries'):
            print('  %-30s median %5.0f ms, max %6.0f ms, %d of %d over 1 s, %d unanswered in 5 s;'
                  ' load average %.1f -> %.1f' % (
                      ROW_TITLES[row['label']], 1000 * (probe['median'] or 0), 1000 * (probe['max'] or 0),
                      probe['over_1s'], probe['queries'], probe['unanswered'], *probe['load']))
        timeline = probe.get('timeline') or {}
        if timeline:
            print('  %-30s Pebble log, seconds after the playbook started (+-1 s): %s; playbook ended %.1f'
                  % ('', ', '.join('%s %d..%d' % (label, timeline[label][0], timeline[label][1])
                                   for label, dummy in PEBBLE_EVENTS if label in timeline), row['wall']))
        dns_timeouts = sum(1 for e in row['errors'] if 'Error retrieving TXT records' in e and 'timeout' in e)
        if dns_timeouts:
            print('  %-30s %d of %d failures: the CA\'s own DNS lookup of the challenge record timed out'
                  % ('', dns_timeouts, row['failures']))
    for row in rows:
        problems = list(row['errors'])
        if row['leftovers']:
            problems.append('TXT values left in Route53: %s' % json.dumps(row['leftovers'], sort_keys=True))
        if row['files_ok'] != row['count'] - row['failures']:
            problems.append('certificate files: %d valid, %d expected'
                            % (row['files_ok'], row['count'] - row['failures']))
        if problems or row['rc'] != 0:
            print()
            print('%s: ansible-playbook rc=%d; log %s' % (ROW_TITLES[row['label']], row['rc'], row['log']))
            for p in problems[:10]:
                print('  - %s' % p)
            if len(problems) > 10:
                print('  - ... %d more' % (len(problems) - 10))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--count', type=int, default=50, help='certificates per autotls run (default 50)')
    parser.add_argument('--baseline-count', type=int, default=50,
                        help='certificates for the community.crypto baseline (default 50)')
    parser.add_argument('--skip-baseline', action='store_true', help='run only the two autotls runs')
    parser.add_argument('--concurrency', type=int,
                        help="autotls.acme.certificate's concurrency option (default: the module's, 10)")
    parser.add_argument('--baseline-venv', default=DEFAULT_BASELINE_VENV,
                        help='venv with the ansible package, made if absent (default %(default)s; '
                             'env AUTOTLS_BASELINE_VENV)')
    parser.add_argument('--keep-workdir', action='store_true',
                        help='keep playbooks, logs and certificates (kept anyway when a run fails)')
    args = parser.parse_args(argv)
    if args.count < 1 or args.baseline_count < 1:
        parser.error('counts must be at least 1')

    try:
        collections_path = collections_root()
        baseline_venv = None if args.skip_baseline else ensure_baseline_venv(args.baseline_venv)
    except (OSError, subprocess.CalledProcessError) as exc:
        print('bench: setup failed: %s' % exc, file=sys.stderr)
        return 2

    workdir = tempfile.mkdtemp(prefix='autotls-bench-')
    account_key = write_account_key(os.path.join(workdir, 'account.key'))
    rows = []
    print('bench: work directory %s' % workdir, file=sys.stderr, flush=True)
    print('bench: autotls.acme.certificate, %d certificates, 5%% nonce reject...' % args.count,
          file=sys.stderr, flush=True)
    rows.append(run_autotls('autotls-5', args.count, account_key, collections_path, workdir,
                            concurrency=args.concurrency))
    print('bench: autotls.acme.certificate, %d certificates, 30%% nonce reject...' % args.count,
          file=sys.stderr, flush=True)
    rows.append(run_autotls('autotls-30', args.count, account_key, collections_path, workdir,
                            nonce_reject=30, concurrency=args.concurrency))
    from ansible.release import __version__ as core_version
    versions = 'autotls: ansible-core %s (%s)' % (core_version, sys.executable)
    if baseline_venv:
        print('bench: community.crypto two-step baseline, %d certificates...' % args.baseline_count,
              file=sys.stderr, flush=True)
        rows.append(run_baseline('baseline', args.baseline_count, account_key, baseline_venv, workdir))
        versions += '\nbaseline: ansible-core %s, community.crypto %s, amazon.aws %s (%s)' % (
            collection_version(baseline_venv, 'ansible_core'), collection_version(baseline_venv, 'community.crypto'),
            collection_version(baseline_venv, 'amazon.aws'), baseline_venv)
    print_report(rows, versions)

    ok = rows[1]['failures'] == 0 and rows[1]['rc'] == 0 and \
        not any(r['leftovers'] for r in rows if r['label'].startswith('autotls'))
    any_problem = not ok or any(r['rc'] != 0 or r['failures'] for r in rows)
    if args.keep_workdir or any_problem:
        print('\nbench: work directory kept: %s' % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if not ok:
        print('bench: FAILED: the 30% nonce-reject run must issue every certificate and '
              'no autotls run may leave a challenge record behind', file=sys.stderr)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
