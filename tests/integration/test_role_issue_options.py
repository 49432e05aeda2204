# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every AWS and DNS option an operator needs is an inventory variable, and reaches the module.

The runs have no AWS credentials in the environment and no AWS config files: the keys
given in the inventory are the only ones there are, so a run that works is a run they
reached. What cannot be seen from outside (TTL, timeouts) is read from the module's own
record of its arguments, where the secrets show only as masked.
"""

import json
import os
import sys
import uuid

import pytest

from testbed.fixtures import ansible_environment

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(REPO, 'playbooks', 'check.yml')
MASKED = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'

ROLE_PLAYBOOK = """
- hosts: all
  gather_facts: false
  roles:
    - autotls.acme.issue
"""

SECRETS = {
    'access_key': 'AKIAINVENTORYKEY0001',
    'secret_key': 'inventory-secret-key-0123456789',
    'session_token': 'inventory-session-token-abcdef',
    'assume_role_external_id': 'inventory-external-id-42',
}


@pytest.fixture
def env_without_aws(tmp_path):
    env = {k: v for k, v in ansible_environment().items() if not k.startswith('AWS_')}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / 'no-credentials'),
               AWS_CONFIG_FILE=str(tmp_path / 'no-config'), AWS_EC2_METADATA_DISABLED='true')
    return env


def _inventory(tmp_path, **all_vars):
    path = tmp_path / 'inventory.yml'
    path.write_text(json.dumps({'all': {
        'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
        'vars': all_vars}}))
    return str(path)


def _module_args(result, task):
    return result.task(task, 'localhost')['result']['invocation']['module_args']


def test_route53_and_dns_options_reach_the_certificate_module(route53, run_playbook, env_without_aws, tmp_path):
    route53.create_zone('opts.example.test')
    aws = dict(SECRETS, endpoint_url=route53.moto.endpoint_url, region='us-east-1',
               assume_role_arn='arn:aws:iam::123456789012:role/acme-dns')
    inventory = _inventory(
        tmp_path, autotls_acme_directory=route53.pebble.directory_url,
        autotls_acme_ca_bundle=route53.pebble.ca_bundle, autotls_terms_agreed=True,
        autotls_store={'type': 'local', 'path': str(tmp_path / 'store')},
        autotls_route53=aws, autotls_dns_servers=[route53.dns.address],
        autotls_dns_ttl=123, autotls_dns_propagation_timeout=45, autotls_order_timeout=77,
        autotls_concurrency=3,
        autotls_certificates=[{'name': 'opts', 'domains': ['*.opts.example.test', 'opts.example.test'],
                               'challenge': 'dns-01'}])

    result = run_playbook(ROLE_PLAYBOOK, inventory=inventory, connection=None, env=env_without_aws)

    finished = [r for r in result.results if r['task'].endswith('finalize and store the certificates')][-1]
    assert [c['action'] for c in finished['result']['certificates']] == ['issue'], finished['result']
    assert finished['result']['cleanup_errors'] == []
    args = finished['result']['invocation']['module_args']
    assert (args['dns_ttl'], args['dns_propagation_timeout'], args['timeout'], args['concurrency']) == (123, 45, 77, 3)
    assert args['aws_assume_role_arn'] == aws['assume_role_arn']
    assert args['aws_endpoint_url'] == route53.moto.endpoint_url
    for option in ('aws_access_key', 'aws_secret_key', 'aws_session_token', 'aws_assume_role_external_id'):
        assert args[option] == MASKED, option
    everything = result.stdout + result.stderr + json.dumps(result.results)
    for secret in SECRETS.values():
        assert secret not in everything
    assert route53.txt_values('_acme-challenge.opts.example.test') == set()


def test_s3_store_options_reach_the_store_module(route53, run_playbook, env_without_aws, tmp_path):
    bucket = 'autotls-%s' % uuid.uuid4().hex[:12]
    route53.moto.client('s3').create_bucket(Bucket=bucket)
    store = dict(SECRETS, type='s3', bucket=bucket, path=str(tmp_path / 'working-copy'),
                 endpoint_url=route53.moto.endpoint_url, region='us-east-1',
                 assume_role_arn='arn:aws:iam::123456789012:role/autotls-store')
    inventory = _inventory(tmp_path, autotls_store=store)

    result = run_playbook(CHECK, inventory=inventory, connection=None, env=env_without_aws, expect_rc=None)

    pulled = result.task('Pull the store into the working copy (S3 store, as in AWX)', 'localhost')
    assert pulled['status'] == 'ok', pulled['result']
    args = pulled['result']['invocation']['module_args']
    assert args['aws_assume_role_arn'] == store['assume_role_arn']
    for option in ('aws_access_key', 'aws_secret_key', 'aws_session_token', 'aws_assume_role_external_id'):
        assert args[option] == MASKED, option
    everything = result.stdout + result.stderr + json.dumps(result.results)
    for secret in SECRETS.values():
        assert secret not in everything
