# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX workflow, run the way AWX runs it: issue once, deploy in slices, check.

Every job is ansible-runner (the runner AWX uses) in a fresh private data dir with the
collection's playbooks as the project, a fresh home (the container's working copy of the
store starts empty) and the inventory as AWX writes it: a script printing the inventory,
holding only the job's slice of the hosts (testbed/awx.py). The store is an S3 bucket in
moto; Pebble validates HTTP-01 against the test hosts' nginx and DNS-01 through Route53.

* one issue job (workflow "autotls nightly", job template "autotls issue");
* the same playbook as one slice of a sliced job template: it refuses, orders nothing;
* three deploy jobs started at the same time, one per slice of "autotls deploy";
* one check job;
* then two issue jobs started at the same time on a new, empty prefix: the store's lease
  lets one of them issue while the other waits, so nothing is ordered twice and the
  store lists each certificate with its own key.

Orders are counted at the CA (Pebble's log): each certificate ordered exactly once, and
no request at all reaches the CA while the slices run.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testbed import awx
from testbed.moto import aws_env
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert, served_serial

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, 'playbooks')
CREDENTIAL_TYPES = os.path.join(REPO, 'docs', 'awx', 'credential-types')
VENV_BIN = os.path.dirname(sys.executable)
SLICES = 3
WORKFLOW = 'autotls nightly'
SHARED = {'name': 'wf-shared', 'domains': ['*.wf.qa1.example.test', 'wf.qa1.example.test'], 'challenge': 'dns-01'}
# Actions that talk to the CA or to Route53, or write the store.
MANIFEST = '.autotls-manifest.json'
ORDERED = 'Create the orders of the certificates that are due'
ISSUED = 'Answer the challenges, finalize and store the certificates'
LEASE = "Take the store's lease"
ISSUING_ACTIONS = {'autotls.acme.certificate', 'autotls.acme.http01_tokens', 'autotls.acme.route53_txt'}


def _orders(pebble):
    """Orders Pebble accepted so far (one line per order in its log)."""
    with open(pebble.process.log_path, encoding='utf-8', errors='replace') as handle:
        return len(re.findall(r'Added order "', handle.read()))


def _manifest(fleet, prefix):
    """The store's manifest (written last by the issuing job) and a reader of the files it lists."""
    manifest = json.loads(fleet.s3.get_object(Bucket=fleet.bucket, Key=prefix + MANIFEST)['Body'].read())

    def read(relpath):
        return fleet.s3.get_object(Bucket=fleet.bucket, Key=prefix + manifest['files'][relpath]['key'])['Body'].read()
    return manifest, read


def _ca_requests(pebble):
    with open(pebble.process.log_path, encoding='utf-8', errors='replace') as handle:
        return len(re.findall(r' -> calling handler\(\)', handle.read()))


class Fleet:
    """The operator's AWX inventory and the jobs run against it."""

    def __init__(self, tmp_path, hosts, pebble, testbed, bucket, prefix):
        self.tmp_path = tmp_path
        self.control_base = tempfile.mkdtemp(prefix='awx-cp-')
        self.endpoint = testbed.moto.endpoint_url
        self.hosts = hosts
        self.pebble = pebble
        self.bucket, self.prefix = bucket, prefix
        key = ec.generate_private_key(ec.SECP256R1())
        account_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode('ascii')
        self.account = awx.render_injected_extra_vars(
            awx.load_credential_type(CREDENTIAL_TYPES, 'acme-account.yml'), {'account_key': account_key})
        self.hostvars = {}
        for host in hosts:
            variables = dict(host.inventory_vars())
            variables.update({'autotls_nginx_listen_address': host.address, 'autotls_nginx_ipv6': False})
            self.hostvars[host.name] = variables
        # app2 alone serves a name of its own, validated over HTTP-01 on its nginx.
        self.own = {'name': 'wf-app2', 'domains': [hosts[1].fqdn], 'challenge': 'http-01'}
        self.hostvars[hosts[1].name]['autotls_host_certificates'] = [self.own]
        self.groups = {'web': {'hosts': [h.name for h in hosts], 'vars': {'autotls_certificates': [SHARED]}}}
        self.all_vars = {
            'autotls_acme_directory': pebble.directory_url, 'autotls_acme_ca_bundle': pebble.ca_bundle,
            'autotls_terms_agreed': True,
            'autotls_route53': {'endpoint_url': testbed.moto.endpoint_url},
            'autotls_dns_servers': [testbed.dns.address],
            'autotls_store': self.store(prefix),
        }
        self.job_ids = iter(range(100, 1000))

    def store(self, prefix):
        return {'type': 's3', 'bucket': self.bucket, 'prefix': prefix, 'endpoint_url': self.endpoint}

    def job(self, playbook, job_template, workflow_job, slice_number=1, slice_count=1, extra=None,
            launch_type='workflow'):
        """Prepare one AWX job (``workflow_job`` None: a job launched by itself); returns the
        (private data dir, args, playbook) to run."""
        job_id = next(self.job_ids)
        name = 'job%d-%s' % (job_id, playbook.split('.')[0])
        home = self.tmp_path / name / 'home'
        home.mkdir(parents=True)
        script, data = awx.inventory_script(self.all_vars, self.groups, self.hostvars, slice_number, slice_count)
        extravars = awx.meta_vars(job_id, job_template, launch_type=launch_type,
                                  workflow_job_id=job_id - 1 if workflow_job else None, workflow_job=workflow_job,
                                  schedule=WORKFLOW)
        extravars.update(extra or {})
        envvars = dict(aws_env())
        # SSH's control sockets in a short path of the job's own, as AWX has them (/runner/cp).
        control = os.path.join(self.control_base, str(job_id))
        envvars.update({'HOME': str(home), 'PATH': VENV_BIN + os.pathsep + os.environ.get('PATH', ''),
                        'ANSIBLE_SSH_CONTROL_PATH_DIR': control,
                        'ANSIBLE_COLLECTIONS_PATH': os.environ['ANSIBLE_COLLECTIONS_PATH'],
                        'ANSIBLE_HOST_KEY_CHECKING': 'False', 'ANSIBLE_PIPELINING': 'True',
                        'JOB_ID': str(job_id), 'AWX_HOST': 'https://awx.example.test'})
        pdd = str(self.tmp_path / name / 'private_data_dir')
        args = awx.make_private_data_dir(pdd, PLAYBOOKS, script, extravars, envvars, credentials=[self.account])
        self.last_slice = sorted(data['_meta']['hostvars'])
        return pdd, args, playbook


# An nginx as onboarding leaves it (playbooks/onboard.yml, role nginx_tls): the ACME webroot
# on port 80, a TLS server per certificate the host serves, over files of its own (here
# placeholders from a CA of the test's, so the hosts start out serving other serials).
NGINX_SITE = """\
server {
    listen %(address)s:80;
    server_name _;
    location ^~ /.well-known/acme-challenge/ { root /var/www/acme; default_type text/plain; try_files $uri =404; }
}
"""
NGINX_TLS = """\
server {
    listen %(address)s:443 ssl;
    server_name %(names)s;
    ssl_certificate %(dir)s/fullchain.pem;
    ssl_certificate_key %(dir)s/privkey.pem;
    location / { return 200 "%(name)s"; }
}
"""


def _onboarded(host, certificates, ca_cert, ca_key):
    site = NGINX_SITE % {'address': host.address}
    for cert in certificates:
        directory = '/etc/autotls/certs/%s' % cert['name']
        leaf, key = make_server_cert(ca_cert, ca_key, names=[d for d in cert['domains'] if not d.startswith('*')],
                                     ips=())
        host.write_file(directory + '/fullchain.pem', cert_pem(leaf) + cert_pem(ca_cert))
        host.write_file(directory + '/cert.pem', cert_pem(leaf))
        host.write_file(directory + '/chain.pem', cert_pem(ca_cert))
        host.write_file(directory + '/privkey.pem', key_pem(key), mode=0o600)
        site += NGINX_TLS % {'address': host.address, 'names': ' '.join(cert['domains']), 'dir': directory,
                             'name': cert['name']}
    host.write_file('/etc/nginx/sites-enabled/autotls.conf', site)
    host.run(['nginx'], check=True)


@pytest.fixture
def fleet(pebble_factory, test_hosts, host_dns, testbed, tmp_path):
    """Three onboarded hosts and an empty bucket prefix for the workflow's store."""
    hosts = [test_hosts['app1'], test_hosts['app2'], test_hosts['app3']]
    for host in hosts:
        host.reset()
    pebble = pebble_factory(http_port=80)
    s3 = testbed.moto.client('s3')
    bucket = 'autotls-wf-%s' % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    fleet = Fleet(tmp_path, hosts, pebble, testbed, bucket, 'prod/')
    fleet.s3 = s3
    ca_cert, ca_key = make_ca('placeholder CA')
    for host in hosts:
        _onboarded(host, [SHARED] + ([fleet.own] if host is hosts[1] else []), ca_cert, ca_key)
    try:
        yield fleet
    finally:
        shutil.rmtree(fleet.control_base, ignore_errors=True)


def test_workflow_issues_once_deploys_in_slices_and_checks(fleet, testbed):
    pebble, hosts = fleet.pebble, fleet.hosts
    orders_before = _orders(pebble)

    # -- the issue job: the whole inventory, one order per certificate ------------------
    started = time.monotonic()
    issue = awx.run_job(*fleet.job('issue.yml', 'autotls issue', WORKFLOW))
    print('issue job: %.1f s' % (time.monotonic() - started))
    assert issue.status == 'successful', issue.stdout[-3000:]
    ordered = {c['name']: c['action'] for c in issue.res(ORDERED)['certificates']}
    assert ordered == {'wf-shared': 'issue', 'wf-app2': 'issue'}   # the bucket's prefix was empty
    assert _orders(pebble) - orders_before == 2
    # The lease it took was renewed before the orders and before the finishing step (a long stage keeps it).
    lease = issue.res(LEASE)['lease']
    for step in ("Renew the store's lease before ordering", "Renew the store's lease before finishing"):
        renewed = issue.res(step)['lease']
        assert (renewed['id'], renewed['holder']) == (lease['id'], lease['holder']), step
        assert renewed['renewed'] >= lease['renewed'], step
    pushed = set(issue.res('Push the working copy back to the store')['pushed'])
    assert {'certs/wf-shared/cert.pem', 'certs/wf-app2/cert.pem'} <= pushed
    # Nothing deployed in this stage: the hosts still serve what onboarding gave them.
    # What the issue job stored (and pushed): each certificate's serial.
    stored = {c['name']: c['serial'] for c in issue.res(ISSUED)['certificates']}
    assert set(stored) == {'wf-shared', 'wf-app2'}
    manifest, _read = _manifest(fleet, fleet.prefix)
    assert {name: entry['serial'] for name, entry in manifest['certificates'].items()} == stored
    assert served_serial(hosts[0].address, 'x.wf.qa1.example.test') != stored['wf-shared']

    # -- the same playbook as a slice of a sliced job template: it refuses --------------
    started = time.monotonic()
    sliced = awx.run_job(*fleet.job('issue.yml', 'autotls issue', 'autotls issue', 1, SLICES))
    print('sliced issue job: %.1f s' % (time.monotonic() - started))
    assert sliced.status == 'failed'
    refusal = sliced.result('Refuse to order certificates in a slice of a sliced job')
    assert refusal['event'] == 'runner_on_failed'
    assert "sliced job template 'autotls issue'" in refusal['event_data']['res']['msg']
    assert 'Job Slicing to 1' in refusal['event_data']['res']['msg']
    assert not sliced.actions() & ISSUING_ACTIONS and 'autotls.acme.store' not in sliced.actions()

    # -- three deploy slices at once: AWX's sliced "autotls deploy" ---------------------
    requests_before = _ca_requests(pebble)
    specs, slices = [], []
    for number in range(1, SLICES + 1):
        specs.append(fleet.job('deploy.yml', 'autotls deploy', 'autotls deploy', number, SLICES))
        slices.append(fleet.last_slice)
    # AWX's slicing: hosts sorted by name, every third one.
    assert slices == [[h.name] for h in sorted(hosts, key=lambda h: h.name)]
    started = time.monotonic()
    deploys = awx.run_jobs_at_once(specs)
    print('deploy slices: %.1f s' % (time.monotonic() - started))
    for job, names in zip(deploys, slices):
        assert job.status == 'successful', job.stdout[-3000:]
        deployed_to = {e['event_data']['host'] for e in job.events if e['event'] == 'runner_on_ok'
                       and e['event_data'].get('task') == 'Note that the host was reached'}
        assert deployed_to == set(names)
        assert not job.actions() & ISSUING_ACTIONS, job.actions()
    # No slice contacted the CA: not one request while they ran.
    assert _ca_requests(pebble) == requests_before
    assert _orders(pebble) - orders_before == 2

    # Every (host, certificate) pair serves the store's serial.
    for host in hosts:
        assert served_serial(host.address, 'x.wf.qa1.example.test') == stored['wf-shared'], host.name
    assert served_serial(hosts[1].address, hosts[1].fqdn) == stored['wf-app2']

    # -- the check job: the store and every host, verified against Pebble's root --------
    started = time.monotonic()
    check = awx.run_job(*fleet.job('check.yml', 'autotls check', WORKFLOW,
                                   extra={'autotls_ca_root_pem': pebble.roots_pem()}))
    print('check job: %.1f s' % (time.monotonic() - started))
    assert check.status == 'successful', check.stdout[-3000:]
    summary = check.res('Give each row its colour - red, orange (due), yellow (few days left) or green')
    assert summary['ansible_facts']['autotls_check_summary']['ok'] == 2 + 4   # 2 stored, 4 served


def test_two_issue_jobs_at_once_order_each_certificate_once(fleet):
    """A scheduled and a manual issue job that overlap, on a store neither has written yet."""
    pebble, prefix = fleet.pebble, 'overlap/'
    fleet.all_vars['autotls_store'] = fleet.store(prefix)
    orders_before = _orders(pebble)
    jobs = awx.run_jobs_at_once([fleet.job('issue.yml', 'autotls issue', WORKFLOW),
                                 fleet.job('issue.yml', 'autotls issue', None, launch_type='manual')])
    # Each certificate ordered once, by the job that held the lease.
    assert _orders(pebble) - orders_before == 2
    issuers = [j for j in jobs if j.results(ISSUED) and j.result(ISSUED)['event'] == 'runner_on_ok']
    assert len(issuers) == 1, [j.stdout[-2000:] for j in jobs]
    issuer = issuers[0]
    other = jobs[1 - jobs.index(issuer)]
    assert issuer.status == 'successful', issuer.stdout[-3000:]
    assert {c['action'] for c in issuer.res(ORDERED)['certificates']} == {'issue'}
    # The other one waited for the lease, then found the certificates in the store: nothing due.
    assert other.status == 'successful', other.stdout[-3000:]
    assert other.res(LEASE)['waited'] > 0
    assert {c['action'] for c in other.res(ORDERED)['certificates']} == {'none'}
    assert not other.res('Push the working copy back to the store')['pushed']
    # The store lists each certificate with its own key, as the issuer stored it.
    manifest, read = _manifest(fleet, prefix)
    stored = {c['name']: c['serial'] for c in issuer.res(ISSUED)['certificates']}
    assert {name: entry['serial'] for name, entry in manifest['certificates'].items()} == stored
    for name in stored:
        cert = x509.load_pem_x509_certificate(read('certs/%s/cert.pem' % name))
        key = serialization.load_pem_private_key(read('certs/%s/privkey.pem' % name), None)
        assert cert.public_key().public_numbers() == key.public_key().public_numbers(), name
