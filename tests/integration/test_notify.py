# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.notify through ansible-playbook, against real local peers.

Slack is a local HTTP server that records the webhook POSTs (one variant answers 429
with Retry-After once); mail is an aiosmtpd server on loopback (plain, or STARTTLS with
AUTH and a test CA). Each test starts its own servers on free loopback ports.
"""

import json

import pytest

from testbed.ports import free_tcp_port
from testbed.notify_peers import WEBHOOK_PATH, RecordingHandler, WebhookReceiver
from testbed.tls import write_server_tls

aiosmtpd_controller = pytest.importorskip('aiosmtpd.controller')
aiosmtpd_smtp = pytest.importorskip('aiosmtpd.smtp')

pytestmark = pytest.mark.integration

SMTP_USER = 'autotls'
SMTP_PASSWORD = 'Sm7p-pa55-Qx9'

RESULTS = [
    dict(name='app1', action='renew', changed=True, not_after='2027-02-20T10:00:00Z', days_left=89.9,
         lifetime_fraction_left=0.99, hosts=['web1'], reason='due'),
    dict(name='qa1-wildcard', action='renew', changed=False, failed=True,
         msg='Failed to change resource record sets: AccessDenied: route53:ChangeResourceRecordSets',
         not_after='2026-12-01T00:00:00Z', days_left=3.5, reason='due'),
    dict(name='legacy', action='none', changed=False, not_after='2026-12-05T00:00:00Z', days_left=6.1,
         lifetime_fraction_left=0.07, reason='not due'),
    dict(name='shop', action='none', changed=False, not_after='2027-01-30T00:00:00Z', days_left=60,
         lifetime_fraction_left=0.66, reason='not due'),
]

# A run that fails, and reports from `always:` anyway.
FAILED_RUN = r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The run
      block:
        - name: Pretend the certificate task ran
          ansible.builtin.set_fact:
            run_results: "{{ results }}"
        - name: Fail the run like renew.yml does
          ansible.builtin.fail:
            msg: a certificate failed
      always:
        - name: Report the run
          autotls.acme.notify:
            results: "{{ run_results }}"
            deployed: [{host: web1, certificate: app1}]
            title: autotls nightly
            slack:
              webhook_url: "{{ webhook_url }}"
              allow_http: true     # the test's receiver on loopback
              username: autotls
            email: "{{ mail }}"
            ca_path: "{{ ca_path }}"
            timeout: 15
'''

NOTIFY = r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Report the run
      autotls.acme.notify:
        results: "{{ results }}"
        slack: "{{ slack | default(omit) }}"
        email: "{{ mail | default(omit) }}"
        timeout: "{{ timeout | default(15) }}"
        fail_on_error: "{{ fail_on_error | default(false) }}"
        ca_path: "{{ ca_path | default(omit) }}"
'''


def _authenticator(server, session, envelope, mechanism, auth_data):  # pylint: disable=unused-argument
    ok = (isinstance(auth_data, aiosmtpd_smtp.LoginPassword)
          and auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode())
    # handled=False: let the server answer 535 itself on failure.
    return aiosmtpd_smtp.AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    """smtp_server(tls_files=None) -> (controller, handler): aiosmtpd on a free loopback port.

    With ``tls_files`` the server offers STARTTLS (required) and AUTH with SMTP_USER/SMTP_PASSWORD.
    """
    started = []

    def start(tls_files=None):
        import ssl  # pylint: disable=import-outside-toplevel

        handler = RecordingHandler()
        kwargs = dict(hostname='127.0.0.1', port=free_tcp_port())
        if tls_files:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls_files.cert, tls_files.key)
            kwargs.update(tls_context=context, require_starttls=True, authenticator=_authenticator,
                          auth_required=True)
        controller = aiosmtpd_controller.Controller(handler, **kwargs)
        controller.start()
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


def _plain(message):
    return message.get_body(('plain',)).get_content().replace('\r\n', '\n')


def _html(message):
    return message.get_body(('html',)).get_content()


# ---------------------------------------------------------------- tests

def test_failed_run_reports_to_slack_and_email_without_leaking_secrets(run_playbook, smtp_server, tmp_path):
    tls = write_server_tls(str(tmp_path / 'tls'))
    controller, handler = smtp_server(tls)
    mail = dict(to=['ops@example.test', 'pki@example.test'], smtp_host='127.0.0.1', smtp_port=controller.port,
                starttls=True, username=SMTP_USER, password=SMTP_PASSWORD, subject='[PKI]')
    mail['from'] = 'autotls@example.test'
    with WebhookReceiver() as slack:
        # The run fails (rc 2), yet its summary goes out from `always:`.
        result = run_playbook(FAILED_RUN, dict(results=RESULTS, webhook_url=slack.url, mail=mail,
                                               ca_path=tls.ca_cert),
                              expect_rc=2, args=('-vvv',))

    report = result.task('Report the run')
    assert report['status'] == 'ok', report['result']
    out = report['result']
    assert out['sent'] == dict(slack=True, email=True)
    assert out['errors'] == [] and out['changed'] is True
    assert out['counts'] == dict(checked=4, renewed=1, failed=1, expiring=1, valid=1, deployed=1, issued=0,
                                 renewed_only=1, unchanged=2, hosts_deployed=1, hosts_failed=0, run_errors=0,
                                 deferred=0)
    assert out['totals_line'] == 'Totals: 0 issued, 1 renewed, 2 unchanged, 1 failed; 1 host deployed, 0 hosts failed.'

    # Slack: exactly one POST, JSON with text and mrkdwn blocks naming the failure and its reason.
    assert len(slack.requests) == 1
    posted = slack.requests[0]
    assert posted['path'] == WEBHOOK_PATH and posted['content_type'] == 'application/json'
    body = posted['body']
    assert body['username'] == 'autotls'
    assert body['blocks'][0]['text']['text'] == 'autotls nightly'
    failed_block = [b for b in body['blocks'] if b['text']['text'].startswith('*Failed*')]
    assert len(failed_block) == 1
    assert '`qa1-wildcard`: Failed to change resource record sets: AccessDenied' in failed_block[0]['text']['text']
    assert 'qa1-wildcard' in body['text'] and 'AccessDenied: route53:ChangeResourceRecordSets' in body['text']

    # Mail: one message over STARTTLS with AUTH, right envelope, subject and both bodies.
    assert len(handler.messages) == 1
    got = handler.messages[0]
    assert got['authenticated'] is True
    assert got['mail_from'] == 'autotls@example.test'
    assert sorted(got['rcpt_tos']) == ['ops@example.test', 'pki@example.test']
    message = got['message']
    assert message['Subject'] == '[PKI] autotls nightly: 1 failed, 1 renewed, 1 expiring soon'
    assert message['To'] == 'ops@example.test, pki@example.test'
    plain = _plain(message)
    assert plain == out['summary']
    assert 'Renewed:\n  - app1: new expiry 2027-02-20 10:00 UTC, 89 days left; deployed to web1' in plain
    assert 'qa1-wildcard: Failed to change resource record sets: AccessDenied' in plain
    assert 'Expiring soon:\n  - legacy: 2026-12-05 00:00 UTC, 6 days left' in plain
    assert '<b>qa1-wildcard</b>' in _html(message)

    # Secrets: not in the whole output, even at -vvv.
    everything = result.stdout + result.stderr
    assert 'Report the run' in result.stdout and '<localhost> EXEC' in result.stdout  # really -vvv
    for secret in (slack.url, WEBHOOK_PATH, 'xoxWebhookS3cretToken', SMTP_PASSWORD):
        assert secret not in everything
        assert secret not in json.dumps(report['result'])


def test_slack_429_with_retry_after_then_ok(run_playbook):
    with WebhookReceiver(answers=[(429, {'Retry-After': '1'})]) as slack:
        result = run_playbook(NOTIFY, dict(results=RESULTS[:1], slack=dict(webhook_url=slack.url, allow_http=True)))
    out = result.task('Report the run')['result']
    assert out['sent'] == dict(slack=True, email=False)
    assert out['errors'] == []
    assert [r['status'] for r in slack.requests] == [429, 200]
    assert len(slack.accepted) == 1
    assert slack.requests[0]['body'] == slack.requests[1]['body']


def test_plain_smtp_relay_and_nothing_to_do(run_playbook, smtp_server):
    controller, handler = smtp_server()
    mail = dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=controller.port, starttls=False)
    result = run_playbook(NOTIFY, dict(results=RESULTS[3:], mail=mail))
    out = result.task('Report the run')['result']
    assert out['sent'] == dict(slack=False, email=True)
    message = handler.messages[0]['message']
    assert message['Subject'].startswith('[autotls] autotls run on ')
    assert message['Subject'].endswith(': nothing to do, 1 certificate valid')
    assert handler.messages[0]['mail_from'].startswith('autotls@')
    assert 'Nothing to do: 1 certificate checked, all valid.' in _plain(message)


def test_starttls_required_but_not_offered_is_explained(run_playbook, smtp_server):
    controller, handler = smtp_server()
    mail = dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=controller.port)
    result = run_playbook(NOTIFY, dict(results=RESULTS, mail=mail))
    record = result.task('Report the run')
    assert record['result']['sent']['email'] is False
    assert 'set email.starttls to false' in record['result']['errors'][0]
    assert handler.messages == []


def test_unreachable_smtp_warns_or_fails_on_request(run_playbook):
    closed = free_tcp_port()
    mail = dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=closed, starttls=False,
                username=SMTP_USER, password=SMTP_PASSWORD, allow_plain_auth=True)
    with WebhookReceiver() as slack:
        result = run_playbook(NOTIFY, dict(results=RESULTS, mail=mail, timeout=2,
                                           slack=dict(webhook_url=slack.url, allow_http=True)))
    record = result.task('Report the run')
    assert record['status'] == 'ok'
    out = record['result']
    # Slack still went out; the mail did not, and that is a warning, not a failure.
    assert out['sent'] == dict(slack=True, email=False)
    assert len(out['errors']) == 1 and 'smtp://127.0.0.1:%d' % closed in out['errors'][0]
    assert 'Connection refused' in out['errors'][0]
    assert any('smtp://127.0.0.1:%d' % closed in w for w in record['warnings'])
    assert SMTP_PASSWORD not in result.stdout + result.stderr

    failing = run_playbook(NOTIFY, dict(results=RESULTS, mail=mail, timeout=2, fail_on_error=True), expect_rc=2)
    record = failing.task('Report the run')
    assert record['failed'] is True
    assert record['result']['msg'].startswith('Could not deliver the run summary: Could not send email')
    assert record['result']['sent'] == dict(slack=False, email=False)
    assert SMTP_PASSWORD not in failing.stdout + failing.stderr


def test_check_mode_builds_the_summary_and_sends_nothing(run_playbook, smtp_server):
    controller, handler = smtp_server()
    mail = dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=controller.port, starttls=False)
    with WebhookReceiver() as slack:
        result = run_playbook(NOTIFY, dict(results=RESULTS, mail=mail, slack=dict(webhook_url=slack.url, allow_http=True)),
                              check=True)
    out = result.task('Report the run')['result']
    assert out['sent'] == dict(slack=False, email=False)
    assert 'qa1-wildcard' in out['summary']
    assert slack.requests == [] and handler.messages == []


def test_unsafe_options_are_refused_before_anything_is_sent(run_playbook, smtp_server):
    """An http:// webhook, SMTP AUTH in clear text, a line break in a header: refused, naming the option."""
    controller, handler = smtp_server()
    plain_auth = dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=controller.port, starttls=False,
                      username=SMTP_USER, password=SMTP_PASSWORD)
    injected = dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=controller.port, starttls=False,
                    subject='[autotls]\r\nBcc: leak@example.test')
    with WebhookReceiver() as slack:
        cases = [
            (dict(slack=dict(webhook_url=slack.url)), 'slack.webhook_url is an http:// URL (http://127.0.0.1:'),
            (dict(mail=plain_auth), 'email.username is set but email.starttls and email.ssl are both false'),
            (dict(mail=injected), 'email.subject must be one line'),
            (dict(slack=dict(webhook_url=slack.url, allow_http=True), timeout=0),
             'timeout must be more than 0 and at most 3600 seconds, got 0'),
        ]
        for extra, message in cases:
            result = run_playbook(NOTIFY, dict(results=RESULTS, **extra), expect_rc=2)
            record = result.task('Report the run')
            assert record['failed'] is True and record['result']['msg'].startswith(message), record['result']['msg']
            assert SMTP_PASSWORD not in result.stdout + result.stderr
            assert WEBHOOK_PATH not in result.stdout + result.stderr
    assert slack.requests == [] and handler.messages == []
