# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.certificate with DNS-01 through Route53, run by ansible-playbook against
real Pebble, moto (Route53 API) and a DNS server answering from moto's zones."""

import json
import os
import signal
import socket
import stat
import subprocess
import time

import pytest

from testbed.fixtures import VENV_BIN, ansible_environment

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: issue
      autotls.acme.certificate:
        acme_directory: "{{ directory }}"
        acme_ca_bundle: "{{ ca_bundle }}"
        account_key_src: "{{ account_key }}"
        account_email: ops@example.test
        terms_agreed: true
        eab_kid: "{{ eab_kid | default(omit) }}"
        eab_hmac_key: "{{ eab_hmac_key | default(omit) }}"
        aws_endpoint_url: "{{ aws_endpoint }}"
        dns_servers: ["{{ dns_server }}"]
        dns_propagation_timeout: "{{ propagation_timeout | default(30) }}"
        dns_ttl: "{{ dns_ttl | default(omit) }}"
        timeout: 60
        dest: "{{ dest }}"
        certificates: "{{ certificates }}"
"""


@pytest.fixture
def issue(route53, run_playbook, tmp_path):
    """issue(certificates, pebble=None, expect_rc=0, check=False, **vars) -> the task's result."""

    def run(certificates, pebble=None, expect_rc=0, check=False, **extra):
        pebble = pebble or route53.pebble
        extra_vars = dict(
            directory=pebble.directory_url, ca_bundle=pebble.ca_bundle,
            account_key=str(tmp_path / 'account.pem'), aws_endpoint=route53.moto.endpoint_url,
            dns_server=route53.dns.address, dest=str(tmp_path / 'certs'), certificates=certificates)
        extra_vars.update(extra)
        result = run_playbook(PLAYBOOK, extra_vars=extra_vars, expect_rc=expect_rc, check=check)
        return result.task('issue')['result']

    return run


def _by_name(result):
    return {c['name']: c for c in result['certificates']}


def _openssl_verify(root_pem, cert_dir, tmp_path):
    root = tmp_path / 'pebble-root.pem'
    root.write_text(root_pem)
    proc = subprocess.run(
        ['openssl', 'verify', '-CAfile', str(root), '-untrusted', os.path.join(cert_dir, 'chain.pem'),
         os.path.join(cert_dir, 'cert.pem')], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _san(cert_path):
    out = subprocess.run(['openssl', 'x509', '-in', cert_path, '-noout', '-ext', 'subjectAltName'],
                         capture_output=True, text=True, check=True).stdout
    return sorted(part.strip()[4:] for part in out.splitlines()[1].split(','))


def test_wildcard_and_apex_in_the_more_specific_zone(route53, issue, tmp_path):
    route53.create_zone('example.test')
    qa1 = route53.create_zone('qa1.example.test')
    route53.upsert_txt(qa1, '_acme-challenge.qa1.example.test', ['not-ours'])

    result = issue([{'name': 'qa1', 'domains': ['*.qa1.example.test', 'qa1.example.test']}])

    cert = _by_name(result)['qa1']
    assert result['changed'] and cert['action'] == 'issue'
    assert _san(cert['files']['cert']) == ['*.qa1.example.test', 'qa1.example.test']
    rc, out = _openssl_verify(route53.pebble.roots_pem(), str(tmp_path / 'certs' / 'qa1'), tmp_path)
    assert rc == 0, out
    key_mode = stat.S_IMODE(os.stat(cert['files']['privkey']).st_mode)
    assert key_mode == 0o600
    assert 'BEGIN' not in str(result)          # no PEM, above all no key, in the result
    # Our two values are gone; the value that was not ours survives.
    assert route53.txt_values('_acme-challenge.qa1.example.test') == {'not-ours'}
    # The parent zone was never written to.
    assert route53.txt_values('_acme-challenge.qa1.example.test.example.test') == set()
    # Where the time went, phase by phase.
    assert set(result['timings']) == {
        'imports', 'plan', 'ari', 'account', 'orders', 'dns_zones_early', 'dns_zones', 'dns_write', 'dns_insync',
        'dns_authoritative', 'validation', 'finalize', 'write', 'cleanup', 'total'}


def test_names_spanning_two_zones_and_a_second_run_that_changes_nothing(route53, issue, tmp_path):
    route53.create_zone('example.test')
    route53.create_zone('other.test')
    certificates = [
        {'name': 'span', 'domains': ['www.example.test', 'api.other.test'], 'key_type': 'rsa2048'},
        {'name': 'ec384', 'domains': ['p384.example.test'], 'key_type': 'ec384'},
    ]
    first = issue(certificates)
    assert [c['action'] for c in first['certificates']] == ['issue', 'issue']
    serials = {c['name']: c['serial'] for c in first['certificates']}
    assert _by_name(first)['span']['key_type'] == 'rsa2048'
    assert _by_name(first)['ec384']['key_type'] == 'ec384'
    mtime = os.stat(tmp_path / 'certs' / 'span' / 'cert.pem').st_mtime_ns

    second = issue(certificates)
    assert second['changed'] is False
    assert 'account_uri' not in second          # not due: the CA was not contacted
    assert {'imports', 'plan', 'total'} <= set(second['timings'])
    assert not {'account', 'orders', 'dns_write', 'validation', 'finalize'} & set(second['timings'])
    assert {c['name']: c['serial'] for c in second['certificates']} == serials
    assert os.stat(tmp_path / 'certs' / 'span' / 'cert.pem').st_mtime_ns == mtime
    for name in ('_acme-challenge.www.example.test', '_acme-challenge.api.other.test'):
        assert route53.txt_values(name) == set()


def test_cname_delegated_challenge_gets_its_txt_where_the_cname_points(route53, issue):
    shop = route53.create_zone('shop.test')
    route53.create_zone('acme-delegation.test')
    route53.upsert_record(shop, '_acme-challenge.shop.test', 'CNAME', ['shop.acme-delegation.test'])

    result = issue([{'name': 'shop', 'domains': ['shop.test']}])

    assert _by_name(result)['shop']['action'] == 'issue'
    assert route53.txt_values('shop.acme-delegation.test') == set()


def test_a_ca_that_requires_eab(route53, issue, pebble_factory):
    route53.create_zone('example.test')
    pebble = pebble_factory(eab_required=True)
    certificates = [{'name': 'eab', 'domains': ['eab.example.test']}]

    refused = issue(certificates, pebble=pebble, expect_rc=2)
    assert 'External Account Binding' in refused['msg'] and 'eab_kid' in refused['msg']

    result = issue(certificates, pebble=pebble, eab_kid=pebble.eab_kid, eab_hmac_key=pebble.eab_hmac_key)
    assert _by_name(result)['eab']['action'] == 'issue'
    assert result['account_created'] is True


def test_a_name_without_hosted_zone_fails_clearly_and_leaves_nothing(route53, issue, tmp_path):
    route53.create_zone('example.test')
    certificates = [
        {'name': 'good', 'domains': ['good.example.test']},
        {'name': 'orphan', 'domains': ['ok.example.test', 'app.nozone.test']},
    ]
    result = issue(certificates, expect_rc=2)

    by_name = _by_name(result)
    assert by_name['good']['action'] == 'issue' and not by_name['good'].get('failed')
    orphan = by_name['orphan']
    assert orphan['failed'] and 'nozone.test' in orphan['msg'] and 'orphan' in orphan['msg']
    assert 'hosted zone' in orphan['msg']
    assert 'orphan' in result['msg'] and '1 of 2' in result['msg']
    assert not (tmp_path / 'certs' / 'orphan').exists()
    assert route53.txt_values('_acme-challenge.ok.example.test') == set()
    assert route53.txt_values('_acme-challenge.good.example.test') == set()


def test_check_mode_contacts_neither_the_ca_nor_aws(route53, issue, tmp_path):
    result = issue([{'name': 'dry', 'domains': ['dry.example.test']}], check=True,
                   directory='https://127.0.0.1:9/dir', aws_endpoint='http://127.0.0.1:9')
    assert result['changed'] is True
    assert _by_name(result)['dry']['action'] == 'issue'
    assert not (tmp_path / 'certs').exists()
    assert not (tmp_path / 'account.pem').exists()


def test_bad_input_is_refused_before_anything_happens(route53, issue, tmp_path):
    result = issue([{'name': 'wild', 'domains': ['*.example.test'], 'challenge': 'http-01'}], expect_rc=2)
    assert 'dns-01' in result['msg'] and '*.example.test' in result['msg']
    assert not (tmp_path / 'certs').exists()


def test_a_ttl_out_of_range_is_refused_naming_the_option(route53, issue, tmp_path):
    result = issue([{'name': 'ttl', 'domains': ['ttl.example.test']}], expect_rc=2, dns_ttl=0)
    assert result['msg'] == 'dns_ttl must be between 1 and 2147483647 seconds, got 0'
    assert not (tmp_path / 'certs').exists() and not (tmp_path / 'account.pem').exists()


def _wait_for(condition, what, limit=90):
    """Poll ``condition`` until true; fail (not a timing assertion: a bound) after ``limit`` s."""
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise AssertionError('gave up waiting for %s' % what)
        time.sleep(0.2)


def test_sigterm_removes_the_txt_values_like_ctrl_c(route53, tmp_path):
    """An AWX job timeout sends SIGTERM to the playbook while DNS-01 waits for propagation."""
    zone = route53.create_zone('example.test')
    route53.upsert_txt(zone, '_acme-challenge.sigterm.example.test', ['not-ours'])
    # A name server that takes the queries and never answers: the DNS wait goes on.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(('127.0.0.1', 0))
    workdir = tmp_path / 'run'
    workdir.mkdir()
    (workdir / 'playbook.yml').write_text(PLAYBOOK)
    extra_vars = dict(
        directory=route53.pebble.directory_url, ca_bundle=route53.pebble.ca_bundle,
        account_key=str(tmp_path / 'account.pem'), aws_endpoint=route53.moto.endpoint_url,
        dns_server='127.0.0.1:%d' % silent.getsockname()[1], dest=str(tmp_path / 'certs'),
        propagation_timeout=600,
        certificates=[{'name': 'sigterm', 'domains': ['*.sigterm.example.test', 'sigterm.example.test']}])
    (workdir / 'vars.json').write_text(json.dumps(extra_vars))
    proc = subprocess.Popen(
        [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
         'playbook.yml', '-e', '@vars.json'],
        cwd=str(workdir), env=ansible_environment(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    name = '_acme-challenge.sigterm.example.test'
    try:
        _wait_for(lambda: len(route53.txt_values(name)) == 3 or proc.poll() is not None,
                  'the two challenge values in Route53')
        assert proc.poll() is None, proc.communicate()[0]
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=120)[0]
        # The module outlives ansible-playbook by the time its cleanup takes.
        _wait_for(lambda: route53.txt_values(name) == {'not-ours'}, 'the challenge values to be removed')
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        silent.close()
    assert proc.returncode != 0, output
    assert not (tmp_path / 'certs' / 'sigterm').exists()
