# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nightly job, end to end on the real testbed: Pebble validating HTTP-01 against the
test hosts' nginx on port 80 and DNS-01 against the Route53 state in moto, in one run."""

import json
import os
import time

import pytest
from aiosmtpd import controller as aiosmtpd_controller
from cryptography import x509

from testbed.fixtures_hosts import write_inventory
from testbed.tls import served_serial
from testbed.notify_peers import RecordingHandler, WebhookReceiver
from testbed.ports import free_tcp_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ONBOARD = os.path.join(REPO, 'playbooks', 'onboard.yml')
RENEW = os.path.join(REPO, 'playbooks', 'renew.yml')
ISSUED = 'autotls.acme.issue : Answer the challenges, finalize and store the certificates'
ORDERED = 'autotls.acme.issue : Create the orders of the certificates that are due'


def _served_serial(host, name):
    return served_serial(host.address, name)


def _wait_served(host, name, serial, seconds=10):
    deadline = time.monotonic() + seconds
    while _served_serial(host, name) != serial:
        assert time.monotonic() < deadline, '%s did not start serving %s' % (host.name, serial)
        time.sleep(0.1)


def _stored_serial(store, name):
    with open(os.path.join(store, 'certs', name, 'cert.pem'), 'rb') as handle:
        return '%x' % x509.load_pem_x509_certificate(handle.read()).serial_number


class _Gone:
    """A host of the inventory that does not answer: nothing listens on its SSH port."""

    name = fqdn = 'gone'

    def __init__(self, port):
        self.port = port

    def inventory_vars(self):
        return {'ansible_host': '127.0.0.1', 'ansible_port': self.port, 'ansible_user': 'root',
                'ansible_python_interpreter': '/usr/bin/python3'}


@pytest.fixture
def mail():
    handler = RecordingHandler()
    server = aiosmtpd_controller.Controller(handler, hostname='127.0.0.1', port=free_tcp_port('127.0.0.1'))
    server.start()
    yield server, handler
    server.stop()


@pytest.mark.timeout(1500)   # five playbook runs over SSH; a loaded 2-core machine needs the room
def test_nightly_renew_mixed_idempotent_drift_and_a_failure(
        pebble_factory, test_hosts, host_dns, testbed, run_playbook, tmp_path, mail):
    smtp, inbox = mail
    app1, app2 = test_hosts['app1'], test_hosts['app2']
    for host in (app1, app2):
        host.reset()
    pebble = pebble_factory(http_port=80, validity_seconds=3600)
    store = str(tmp_path / 'store')
    wildcard = {'name': 'web', 'domains': ['*.web.qa1.example.test', 'web.qa1.example.test'],
                'challenge': 'dns-01'}

    def inventory(broken=False, gone=False, conflict=False, **extra):
        host_vars = {}
        for host in (app1, app2):
            own = [{'name': host.name, 'domains': [host.fqdn], 'challenge': 'http-01'}]
            if conflict and host is app2:
                own.append({'name': 'web', 'domains': ['other.qa1.example.test'], 'challenge': 'dns-01'})
            if broken and host is app1:
                own.append({'name': 'broken', 'domains': ['www.nozone.test'], 'challenge': 'dns-01'})
            host_vars[host.name] = {'autotls_nginx_listen_address': host.address, 'autotls_nginx_ipv6': False,
                                    'autotls_host_certificates': own}
        all_vars = {
            'autotls_acme_directory': pebble.directory_url, 'autotls_acme_ca_bundle': pebble.ca_bundle,
            'autotls_terms_agreed': True, 'autotls_store': {'type': 'local', 'path': store},
            'autotls_route53': {'endpoint_url': testbed.moto.endpoint_url},
            'autotls_dns_servers': [testbed.dns.address],
            'autotls_notify': {'slack_webhook_url': slack.url, 'slack_allow_http': True,   # loopback receiver
                               'slack_channel': '#pki', 'slack_username': 'autotls', 'expiring_days': 21,
                               'email': {'to': ['ops@example.test'], 'from': 'autotls@example.test',
                                         'smtp_host': '127.0.0.1', 'smtp_port': smtp.port, 'starttls': False}},
        }
        all_vars.update(extra)
        web = [app1, app2] + ([_Gone(free_tcp_port('127.0.0.1'))] if gone else [])
        return write_inventory(tmp_path / 'inventory.yml', groups={'web': web}, host_vars=host_vars,
                               group_vars={'all': all_vars, 'web': {'autotls_certificates': [wildcard]}})

    with WebhookReceiver() as slack:
        # Onboarding issues everything a first time (HTTP-01 and DNS-01 in one run).
        run_playbook(ONBOARD, inventory=inventory(), connection=None)
        first = {name: _stored_serial(store, name) for name in ('web', 'app1', 'app2')}
        old_app2 = {f: open(os.path.join(store, 'certs', 'app2', f), 'rb').read()
                    for f in ('fullchain.pem', 'privkey.pem')}

        # 1. A renewal run where everything is due: both challenge types, concurrently.
        due = run_playbook(RENEW, inventory=inventory(autotls_renew_before={'fraction': 0.99999}),
                           connection=None)
        renewed = {c['name']: c for c in due.task(ISSUED)['result']['certificates']}
        assert {n: c['action'] for n, c in renewed.items()} == {'web': 'renew', 'app1': 'renew', 'app2': 'renew'}
        for name in first:
            assert renewed[name]['serial'] != first[name]
        assert _served_serial(app1, app1.fqdn) == renewed['app1']['serial']
        assert _served_serial(app2, 'x.web.qa1.example.test') == renewed['web']['serial']
        assert testbed.txt_values('_acme-challenge.web.qa1.example.test') == set()
        assert 'Renewed' in json.dumps(slack.accepted[-1]['body'])

        # 2. Nothing due: nothing issued, nothing changed on any host.
        quiet = run_playbook(RENEW, inventory=inventory(), connection=None)
        assert {c['action'] for c in quiet.task(ORDERED)['result']['certificates']} == {'none'}
        assert quiet.tasks(ISSUED)[0]['status'] == 'skipped'
        assert {h: quiet.stats[h]['changed'] for h in (app1.name, app2.name)} == {app1.name: 0, app2.name: 0}, \
            [(r['host'], r['task']) for r in quiet.changed]

        # 3. Drift: app2's nginx still serves the old certificate although its files are
        # the store's (a reload that never happened). Repaired by a reload, not reissued.
        new_files = {f: app2.read_file('/etc/autotls/certs/app2/' + f, binary=True)
                     for f in ('fullchain.pem', 'privkey.pem')}
        for name, data in old_app2.items():
            app2.write_file('/etc/autotls/certs/app2/' + name, data, mode=0o600)
        rc, _out, err = app2.run(['nginx', '-s', 'reload'])
        assert rc == 0, err
        _wait_served(app2, app2.fqdn, first['app2'])   # nginx -s reload returns before workers switch
        for name, data in new_files.items():
            app2.write_file('/etc/autotls/certs/app2/' + name, data, mode=0o600)
        drift = run_playbook(RENEW, inventory=inventory(), connection=None)
        assert {c['action'] for c in drift.task(ORDERED)['result']['certificates']} == {'none'}
        assert _served_serial(app2, app2.fqdn) == renewed['app2']['serial']

        # 4. One certificate fails (no hosted zone) and one host does not answer; the others
        # are fine. The run fails naming both; Slack and mail both get the summary, and the
        # job output ends with it and the totals line.
        posts_before = len(slack.accepted)
        # Ansible's exit code for a run with an unreachable host is 4 (AWX: failed).
        failing = run_playbook(RENEW, inventory=inventory(broken=True, gone=True), connection=None, expect_rc=4)
        results = {c['name']: c for c in failing.task(ORDERED)['result']['certificates']}
        broken = failing.task(ISSUED)['result']['certificates'][0]
        assert broken['name'] == 'broken' and broken['failed'] and 'nozone.test' in broken['msg']
        assert results['app1']['action'] == 'none' and not results['web'].get('failed')
        assert failing.stats['gone']['unreachable'] >= 1
        totals = 'Totals: 0 issued, 0 renewed, 3 unchanged, 1 failed; 0 hosts deployed, 1 host failed.'
        summed = failing.task('Sum up the run')['result']['msg']
        assert summed[-1] == totals
        assert any(line.startswith('  - broken: ') and 'nozone.test' in line for line in summed)
        assert '  - gone: unreachable: no connection (see the job output for the SSH error)' in summed
        final = failing.task('Fail the run when a certificate, a host or the run itself failed')
        assert final['failed'] and final['result']['msg'].endswith(' -- ' + totals)
        assert final['result']['msg'].startswith('Certificate broken: No Route53 hosted zone') and 'host gone: unreachable' in final['result']['msg']
        tail = failing.stdout[failing.stdout.rindex('TASK [Sum up the run]'):]
        assert totals in tail and 'PLAY RECAP' in tail
        assert len(slack.accepted) == posts_before + 1
        body = slack.accepted[-1]['body']
        assert body['channel'] == '#pki' and body['username'] == 'autotls'
        assert 'broken' in json.dumps(body) and 'gone: unreachable' in body['text']
        last_mail = inbox.messages[-1]['message']
        text = last_mail.get_body(preferencelist=('plain',)).get_content()
        assert 'broken' in text and 'gone: unreachable' in text
        assert inbox.messages[-1]['rcpt_tos'] == ['ops@example.test']

        # 5. A run-level failure: two declarations of "web" disagree. Nothing is issued or
        # deployed; the summary and the final totals line say why.
        conflicting = run_playbook(RENEW, inventory=inventory(conflict=True), connection=None, expect_rc=2)
        summed = conflicting.task('Sum up the run')['result']['msg']
        assert summed[-1] == 'Totals: 0 issued, 0 renewed, 0 unchanged, 0 failed; 0 hosts deployed, 0 hosts failed; ' \
                             '1 run failure.', (summed, conflicting.stdout[-6000:])
        errors = [line for line in summed if line.startswith('  - error: ')]
        assert len(errors) == 1 and "'web'" in errors[0] and 'declared' in errors[0], summed
        assert 'Run failed' in slack.accepted[-1]['body']['text']
        assert conflicting.tasks(ISSUED) == [] or conflicting.tasks(ISSUED)[0]['status'] == 'skipped'
