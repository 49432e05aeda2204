# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX runs the playbooks unchanged: ansible-runner (the runner AWX uses) in a fresh
private data dir laid out as AWX lays it out, credentials injected the way AWX injects
them, and the S3 store carrying the certificates from one job's container to the next.

What AWX does for a job, and what stands in for it here:

* ``project/``: the project's checkout. Job 1 uses the collection's own ``playbooks/``
  as the project (the files copied unchanged); job 2 a project repository whose
  ``renew.yml`` only imports ``autotls.acme.renew`` (the layout docs/awx.md recommends).
* ``inventory/hosts``: the inventory with its group and host variables (YAML here).
* ``env/extravars``: the job template's extra variables.
* The custom credential types of ``docs/awx/credential-types/``: their ``extra_vars``
  injectors rendered in a Jinja sandbox as AWX renders them (an input left empty renders
  as an empty string), dumped with every string ``!unsafe`` as AWX dumps them, into a file
  of their own under ``env/`` that is passed with ``-e @file``.
* The built-in "Amazon Web Services" credential: ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SECURITY_TOKEN`` in ``env/envvars`` (AWX sets no
  ``AWS_SESSION_TOKEN`` and no region). No other AWS credential source exists during the
  jobs, and the S3 server records every request, so the test sees that the modules signed
  with exactly these credentials, session token included.
* A fresh container: every job gets a new, empty ``HOME``, so the store's working copy
  (``~/.local/share/autotls`` by default) starts empty each time.

The test also checks the execution environment definition with ansible-builder (no
container engine needed for ``create``), and that its introspection of the installed
collection yields meta/ee-requirements.txt.
"""

import glob
import json
import os
import secrets
import shutil
import subprocess
import sys
import uuid

import pytest
import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from packaging.requirements import Requirement

from ansible_collections.autotls.acme.plugins.module_utils._store.manifest import MANIFEST_NAME
from testbed import awx
from testbed.awx import make_private_data_dir, render_injected_extra_vars, run_job
from testbed.moto import MotoServer
from testbed.notify_peers import WebhookReceiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)
CREDENTIAL_TYPES = os.path.join(REPO, 'docs', 'awx', 'credential-types')
EE_DEFINITION = os.path.join(REPO, 'docs', 'awx', 'execution-environment.yml')

ZONE = 'awx.example.test'
CERTIFICATES = {
    'awx-wildcard': ['*.awx.example.test', 'awx.example.test'],
    'awx-api': ['api.awx.example.test'],
}
# The four files and the record of the issuer that issued them (the store keeps it, hosts never get it).
CERT_FILES = ('cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem', 'issuer.json')
PREFIX = 'prod/'

PULL = 'Pull the store into the working copy'
PUSH = 'Push the working copy back to the store'
ORDERED = 'Create the orders of the certificates that are due'
ISSUED = 'Answer the challenges, finalize and store the certificates'
SUMMARY = 'Send the run summary'

# A job's project when it is a repository of its own that pulls in the collection
# (collections/requirements.yml) and wraps its playbook.
WRAPPER_PLAYBOOK = """\
---
- name: Renew the certificates the inventory declares
  ansible.builtin.import_playbook: autotls.acme.renew
"""


def load_credential_type(name):
    return awx.load_credential_type(CREDENTIAL_TYPES, name)


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def s3_server(tmp_path_factory):
    """A moto server for S3 alone that records every request (headers included)."""
    workdir = tmp_path_factory.mktemp('moto-s3-awx')
    recording = str(workdir / 'recording.jsonl')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('MOTO_ENABLE_RECORDING', 'true')
        patch.setenv('MOTO_RECORDER_FILEPATH', recording)
        server = MotoServer(workdir=str(workdir)).start()
    server.recording = recording
    try:
        yield server
    finally:
        server.stop()


def recorded_requests(server):
    response = requests.get(server.endpoint_url + '/moto-api/recorder/download-recording', timeout=10)
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


@pytest.fixture
def awx_aws_credential(monkeypatch):
    """What AWX's "Amazon Web Services" credential injects, and no other AWS credential source."""
    for name in list(os.environ):
        if name.startswith('AWS_'):
            monkeypatch.delenv(name)
    return {
        'AWS_ACCESS_KEY_ID': 'AKIA' + secrets.token_hex(8).upper(),
        'AWS_SECRET_ACCESS_KEY': secrets.token_urlsafe(30),
        'AWS_SECURITY_TOKEN': 'FwoGZXIvYXdzE' + secrets.token_urlsafe(60),
    }


def _account_key_pem():
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode('ascii')


# ---- the jobs ------------------------------------------------------------------------------

def test_awx_jobs_renew_then_change_nothing(route53, s3_server, awx_aws_credential, tmp_path):
    testbed = route53
    testbed.create_zone(ZONE)
    s3 = s3_server.client('s3')
    bucket = 'autotls-awx-%s' % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    account_key = _account_key_pem()

    with WebhookReceiver() as slack:
        # -- what the operator configured in AWX ----------------------------------------
        inventory = {'all': {
            'vars': {
                # The hosts are names only here: nothing to deploy to, so the jobs do the
                # controller's part: issuance, the store and the summary.
                'autotls_deploy': False,
                'autotls_account_email': 'pki@example.test',
                'autotls_terms_agreed': True,
                'autotls_renew_before': {'days': 30},
                # The notification credential's variables, put where renew.yml reads them.
                # The test's receiver listens on loopback over plain HTTP.
                'autotls_notify': {'slack_webhook_url': '{{ autotls_notify_slack_webhook_url }}',
                                   'slack_allow_http': True},
            },
            'children': {'web': {
                'hosts': {'web1.awx.example.test': {},
                          'api1.awx.example.test': {'autotls_host_certificates': [
                              {'name': 'awx-api', 'domains': CERTIFICATES['awx-api'], 'challenge': 'dns-01'}]}},
                'vars': {'autotls_certificates': [
                    {'name': 'awx-wildcard', 'domains': CERTIFICATES['awx-wildcard'], 'challenge': 'dns-01'}]},
            }},
        }}
        template_extra_vars = {
            'autotls_acme_directory': testbed.pebble.directory_url,
            'autotls_acme_ca_bundle': testbed.pebble.ca_bundle,
            'autotls_store': {'type': 's3', 'bucket': bucket, 'prefix': PREFIX, 'sse': 'AES256',
                              'endpoint_url': s3_server.endpoint_url},
            'autotls_route53': {'endpoint_url': testbed.moto.endpoint_url},
            'autotls_dns_servers': [testbed.dns.address],
        }
        account = render_injected_extra_vars(load_credential_type('acme-account.yml'), {'account_key': account_key})
        notifications = render_injected_extra_vars(load_credential_type('notifications.yml'),
                                                   {'slack_webhook_url': slack.url})
        # Let's Encrypt needs no EAB: the empty fields arrive as empty strings.
        # No issuer name: the one-CA variables (the per-issuer one, autotls_account_, is read by nothing).
        assert account == {'autotls_account_key_content': account_key, 'autotls_eab_kid': '', 'autotls_eab_hmac_key': '',
                           'autotls_account_': {'account_key_content': account_key, 'eab_kid': '', 'eab_hmac_key': ''}}
        assert notifications['autotls_notify_slack_webhook_url'] == slack.url

        def job(job_id, project):
            name = 'job%d' % job_id
            home = tmp_path / name / 'home'   # a fresh container: nothing from earlier jobs
            home.mkdir(parents=True)
            envvars = dict(awx_aws_credential)
            envvars.update({
                'HOME': str(home),
                'PATH': VENV_BIN + os.pathsep + os.environ.get('PATH', ''),
                'ANSIBLE_COLLECTIONS_PATH': os.environ['ANSIBLE_COLLECTIONS_PATH'],
                'JOB_ID': str(job_id), 'AWX_HOST': 'https://awx.example.test', 'JOB_LAUNCH_TYPE': 'scheduled',
            })
            pdd = str(tmp_path / name / 'private_data_dir')
            args = make_private_data_dir(pdd, project, inventory, template_extra_vars, envvars,
                                         credentials=[account, notifications])
            result = run_job(pdd, args)
            result.working_copy = str(home / '.local' / 'share' / 'autotls')
            return result

        # -- job 1: the collection's playbooks as the project; everything is issued -----
        first = job(1, os.path.join(REPO, 'playbooks'))
        assert first.status == 'successful', first.stdout[-3000:]
        ordered = {c['name']: c['action'] for c in first.res(ORDERED)['certificates']}
        assert ordered == {'awx-wildcard': 'issue', 'awx-api': 'issue'}
        issued = {c['name']: c for c in first.res(ISSUED)['certificates']}
        assert {n: (c['action'], c['changed'], c.get('failed', False)) for n, c in issued.items()} == {
            'awx-wildcard': ('issue', True, False), 'awx-api': ('issue', True, False)}
        assert first.res(PULL)['pulled'] == []
        pushed = set(first.res(PUSH)['pushed'])
        assert pushed == {'certs/%s/%s' % (n, f) for n in CERTIFICATES for f in CERT_FILES}
        assert len(slack.accepted) == 1 and '2 renewed' in json.dumps(slack.accepted[0]['body'])

        objects = {o['Key']: o for o in s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX)['Contents']}
        # Each file in its own object, listed by the manifest that the push wrote last.
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=PREFIX + MANIFEST_NAME)['Body'].read())
        current = {rel: PREFIX + entry['key'] for rel, entry in manifest['files'].items()}
        assert set(current) == pushed
        assert set(objects) == set(current.values()) | {PREFIX + MANIFEST_NAME}
        for key in objects:
            head = s3.head_object(Bucket=bucket, Key=key)
            assert head['ServerSideEncryption'] == 'AES256', key
        # The account key came from the credential: it is never written to the bucket.
        assert 'account.pem' not in current
        for name, domains in CERTIFICATES.items():
            assert manifest['certificates'][name]['serial'] == issued[name]['serial']
            body = s3.get_object(Bucket=bucket, Key=current['certs/%s/cert.pem' % name])['Body'].read()
            cert = x509.load_pem_x509_certificate(body)
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(domains)
            assert '%x' % cert.serial_number == issued[name]['serial']
            key = s3.get_object(Bucket=bucket, Key=current['certs/%s/privkey.pem' % name])['Body'].read()
            assert b'PRIVATE KEY' in key
        assert testbed.txt_values('_acme-challenge.' + ZONE) == set()

        # -- job 2: another container, another project layout; nothing is due ----------
        second = job(2, {'renew.yml': WRAPPER_PLAYBOOK})
        assert second.status == 'successful', second.stdout[-3000:]
        assert second.working_copy != first.working_copy
        pulled = set(second.res(PULL)['pulled'])
        assert pulled == pushed
        assert second.result(PULL)['event_data']['res']['changed'] is True
        assert {c['name']: c['action'] for c in second.res(ORDERED)['certificates']} == {
            'awx-wildcard': 'none', 'awx-api': 'none'}
        assert second.result(ISSUED)['event'] == 'runner_on_skipped'
        assert [e['event_data']['task'] for e in second.role_results('issue') if e['event_data']['res'].get('changed')] == []
        # The pull into the empty working copy is the job's only change.
        assert sum(second.runner.stats['changed'].values()) == 1
        push = second.res(PUSH)
        assert push['pushed'] == [] and push['changed'] is False
        after = {o['Key']: o for o in s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX)['Contents']}
        assert {k: (o['ETag'], o['LastModified']) for k, o in after.items()} == {
            k: (o['ETag'], o['LastModified']) for k, o in objects.items()}
        assert len(slack.accepted) == 2 and 'Nothing to do' in json.dumps(slack.accepted[1]['body'])

    # -- the credentials: the AWX-injected ones signed every S3 request --------------------
    s3_requests = [r for r in recorded_requests(s3_server)
                   if bucket in r['url'] and 'Authorization' in r['headers']]
    job_requests = [r for r in s3_requests
                    if 'Credential=%s/' % awx_aws_credential['AWS_ACCESS_KEY_ID'] in r['headers']['Authorization']]
    # Job 1 uploads the 10 files, each to a new object, then the manifest (and nothing else
    # writes), each only if no object of that name exists; job 2 downloads the 10 files the
    # manifest lists into its empty working copy, and its push, with nothing written by
    # this run, asks the bucket nothing.
    # Each job took the store's lease with a conditional create and gave it back at its end;
    # the lease object aside, the requests are the store's own.
    lease_requests = [r for r in job_requests if '.autotls-lease.json' in r['url']]
    creates = [r for r in lease_requests if r['method'] == 'PUT' and r['headers'].get('If-None-Match') == '*']
    assert (len(creates), [r['method'] for r in lease_requests].count('DELETE')) == (2, 2)
    # Job 1 names what it is about to upload in a pending record, deleted once its manifest
    # is written (a later push deletes what a crashed one left, and only that).
    pending = [r for r in job_requests if '.autotls-pending/' in r['url']]
    assert [r['method'] for r in pending] == ['PUT', 'DELETE'], [(r['method'], r['url']) for r in pending]
    job_requests = [r for r in job_requests if r not in lease_requests and r not in pending]
    methods = [r['method'] for r in job_requests]
    # Per certificate: its four files and the record of the issuer that issued them.
    assert (methods.count('PUT'), methods.count('HEAD')) == (11, 0)
    assert all(r['headers'].get('If-None-Match') == '*' for r in job_requests if r['method'] == 'PUT')
    assert len([r for r in job_requests if r['method'] == 'GET' and '/certs/' in r['url']]) == 10
    assert {r['headers'].get('X-Amz-Security-Token') for r in job_requests} == {awx_aws_credential['AWS_SECURITY_TOKEN']}
    # Nothing reached the bucket with other credentials than the job's and the test's own.
    assert all('Credential=%s/' % awx_aws_credential['AWS_ACCESS_KEY_ID'] in r['headers']['Authorization']
               or 'Credential=testing/' in r['headers']['Authorization'] for r in s3_requests)

    # -- no secret in what AWX shows and stores: the job's stdout and its events -----------
    key_body = ''.join(account_key.strip().splitlines()[1:-1])
    secrets_shown = {
        'account key': key_body[:40],
        'AWS secret key': awx_aws_credential['AWS_SECRET_ACCESS_KEY'],
        'AWS session token': awx_aws_credential['AWS_SECURITY_TOKEN'],
        'Slack webhook URL': slack.url.rsplit('/', 1)[-1],
    }
    for name in CERTIFICATES:
        with open(os.path.join(second.working_copy, 'certs', name, 'privkey.pem'), encoding='ascii') as handle:
            secrets_shown['%s private key' % name] = ''.join(handle.read().strip().splitlines()[1:-1])[:40]
    for job_run in (first, second):
        for what, value in secrets_shown.items():
            assert value not in job_run.stdout, '%s in the stdout of a job' % what
            assert value not in job_run.event_files, '%s in the events of a job' % what


# ---- the execution environment -------------------------------------------------------------

def _ansible_builder():
    path = os.path.join(VENV_BIN, 'ansible-builder')
    if not os.path.exists(path):
        pytest.fail('ansible-builder is missing from %s: run scripts/bootstrap.sh (requirements-dev.txt)' % VENV_BIN)
    return path


def _requirement_lines(path):
    with open(path, encoding='utf-8') as handle:
        return [line.split('#', 1)[0].strip() for line in handle if line.split('#', 1)[0].strip()]


def test_execution_environment_definition(tmp_path):
    builder = _ansible_builder()
    from ansible_builder.ee_schema import validate_schema  # pylint: disable=import-outside-toplevel

    # The collection's own metadata is a valid v3 file whose requirements path exists
    # relative to the collection root (where ansible-builder's introspection looks).
    with open(os.path.join(REPO, 'meta', 'execution-environment.yml'), encoding='utf-8') as handle:
        meta = yaml.safe_load(handle)
    validate_schema(meta)
    assert os.path.isfile(os.path.join(REPO, meta['dependencies']['python']))

    # The build definition: a build context from it and the collection's tarball.
    work = tmp_path / 'ee'
    work.mkdir()
    subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(work), REPO],
                   check=True, capture_output=True, text=True)
    shutil.copy(EE_DEFINITION, work / 'execution-environment.yml')
    created = subprocess.run([builder, 'create', '-f', 'execution-environment.yml', '-c', 'context'],
                             cwd=work, capture_output=True, text=True, check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    containerfile = (work / 'context' / 'Dockerfile').read_text(encoding='utf-8')
    assert 'ARG EE_BASE_IMAGE=' in containerfile
    assert 'ansible-core>=2.19,<2.20' in containerfile and 'ansible-runner>=2.4,<2.5' in containerfile

    # The galaxy and builder stages, without a container: install the collection from
    # the context as the galaxy stage does, then introspect it as the builder stage does.
    build = tmp_path / 'build'
    shutil.copytree(work / 'context' / '_build', build)
    for tarball in glob.glob(str(build / 'collections' / 'autotls-acme-*.tar.gz')):
        os.rename(tarball, build / 'collections' / 'autotls-acme.tar.gz')
    collections = tmp_path / 'collections'
    subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'install', '-r', 'requirements.yml',
                    '--collections-path', str(collections)],
                   cwd=build, check=True, capture_output=True, text=True,
                   # Only the image's own collections path: the checkout the tests use
                   # would otherwise count as installed already.
                   env=dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY='1',
                            ANSIBLE_COLLECTIONS_PATH=str(collections)))
    out = tmp_path / 'requirements.txt'
    subprocess.run([sys.executable, str(build / 'scripts' / 'introspect.py'), 'introspect',
                    '--write-pip', str(out), str(collections)], check=True, capture_output=True, text=True)
    wanted = _requirement_lines(os.path.join(REPO, 'meta', 'ee-requirements.txt'))
    assert _requirement_lines(out) == wanted

    # Every module import the collection needs is in that list, and this very venv
    # (where the tests pass) satisfies it.
    from importlib import metadata  # pylint: disable=import-outside-toplevel
    names = {Requirement(line).name.lower() for line in wanted}
    assert {'acme', 'cryptography', 'pyopenssl', 'boto3', 'botocore', 'requests', 'dnspython'} <= names
    for line in wanted:
        requirement = Requirement(line)
        assert requirement.specifier.contains(metadata.version(requirement.name), prereleases=True), line
