# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run summary (content, renderings, no secrets) and the Slack/SMTP senders' policies.

Delivery is tested against real local listeners (an HTTP server, a closed port); the
full module, a real SMTP server and ansible-playbook are in tests/integration/test_notify.py.
"""

import contextlib
import email
import email.policy
import json
import time

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._notify.notify import (
    MAX_RETRY_AFTER,
    NotificationError,
    RunSummary,
    SlackWebhook,
    SmtpMailer,
    build_email,
    check_options,
    format_expiry,
    format_time_left,
    redact,
    send_summary,
    webhook_secrets,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from testbed.notify_peers import WebhookReceiver
from testbed.ports import free_tcp_port

RENEWED = dict(name='app1', action='renew', changed=True, not_after='2027-02-20T10:00:00Z',
               days_left=89.9, lifetime_fraction_left=0.99, hosts=['web1', 'web2'], reason='due')
ISSUED = dict(name='api', action='issue', changed=True, not_after='2027-03-01T00:00:00Z', days_left=90)
FAILED = dict(name='qa1-wildcard', action='renew', changed=False, failed=True,
              msg='Failed to list hosted zones: AccessDenied: not allowed', days_left=3.5,
              not_after='2026-12-01T00:00:00Z', reason='due since ...')
EXPIRING = dict(name='legacy', action='none', changed=False, days_left=5.2, lifetime_fraction_left=0.06,
                not_after='2026-12-03T00:00:00Z', reason='not due')
VALID = dict(name='shop', action='none', changed=False, days_left=60.0, lifetime_fraction_left=0.66,
             not_after='2027-01-20T00:00:00Z', reason='not due')
WEBHOOK = 'https://hooks.slack.example/services/T000/B000/s3cr3tT0k3n'
PASSWORD = 'smtp-Pa55word!'


# ---------------------------------------------------------------- summary content

def test_renewed_failed_expiring_sections_and_counts():
    summary = RunSummary([RENEWED, ISSUED, FAILED, EXPIRING, VALID], title='nightly',
                         deployed=[dict(host='web1', certificate='app1'), dict(host='web2', certificate='app1')])
    text = summary.text()
    assert text.startswith('nightly\n')
    assert '5 certificates checked: 2 renewed, 1 failed, 1 expiring soon, 1 valid.' in text
    renewed = text.split('Renewed:')[1].split('Failed:')[0]
    assert 'app1: new expiry 2027-02-20 10:00 UTC, 89 days left; deployed to web1, web2' in renewed
    assert 'api: first issued, new expiry 2027-03-01 00:00 UTC' in renewed
    failed = text.split('Failed:')[1].split('Expiring soon:')[0]
    assert 'qa1-wildcard: Failed to list hosted zones: AccessDenied: not allowed' in failed
    expiring = text.split('Expiring soon:')[1]
    assert 'legacy: 2026-12-03 00:00 UTC, 5 days left' in expiring
    # A valid certificate is only counted; a failed one is listed as failed, not expiring.
    assert 'shop' not in text
    assert 'qa1-wildcard' not in expiring
    assert 'Nothing to do' not in text
    assert summary.counts() == dict(checked=5, renewed=2, failed=1, expiring=1, valid=1, deployed=2,
                                    issued=1, renewed_only=1, unchanged=2, hosts_deployed=2, hosts_failed=0,
                                    run_errors=0, deferred=0)
    assert summary.totals_line() == 'Totals: 1 issued, 1 renewed, 2 unchanged, 1 failed; 2 hosts deployed, 0 hosts failed.'
    assert summary.subject() == '[autotls] nightly: 1 failed, 2 renewed, 1 expiring soon'
    assert summary.subject('') == 'nightly: 1 failed, 2 renewed, 1 expiring soon'


def test_nothing_to_do():
    summary = RunSummary([VALID, dict(VALID, name='blog', days_left=40)], title='t')
    text = summary.text()
    assert 'Nothing to do: 2 certificates checked, all valid.' in text
    assert 'Next expiry: blog' in text
    for heading in ('Renewed', 'Failed', 'Expiring soon'):
        assert heading not in text
    assert summary.headline() == 'nothing to do, 2 certificates valid'
    assert 'Nothing to do: 2 certificates checked, all valid.' in summary.html()
    assert RunSummary([]).text().endswith('Nothing to do: 0 certificates checked, all valid.\n')


def test_expiring_threshold_and_short_lived_certificates():
    # Not renewed with fewer days left than expiring_days: listed; exactly at or above: not.
    assert [e.name for e in RunSummary([dict(EXPIRING, days_left=13.9)], expiring_days=14).expiring] == ['legacy']
    assert RunSummary([dict(EXPIRING, days_left=14.0)], expiring_days=14).expiring == []
    assert [e.name for e in RunSummary([EXPIRING], expiring_days=30).expiring] == ['legacy']
    # A 24-hour certificate always has fewer than 14 days: judged by its lifetime fraction.
    fresh = dict(name='step', action='none', changed=False, days_left=0.7, lifetime_fraction_left=0.7)
    stale = dict(fresh, name='stale', days_left=0.1, lifetime_fraction_left=0.1)
    summary = RunSummary([fresh, stale])
    assert [e.name for e in summary.expiring] == ['stale']
    assert 'stale: 2 hours left' in summary.text()
    # Renewed certificates are never "expiring", whatever their numbers say.
    assert RunSummary([dict(RENEWED, days_left=1)]).expiring == []


def test_run_error_and_redeployed():
    summary = RunSummary([], run_error='Could not reach the CA at https://ca.internal:9443/acme: timed out',
                         deployed=[dict(host='web3', certificate='shop')], title='t')
    text = summary.text()
    assert 'Run failed:' in text and 'Could not reach the CA' in text
    assert 'Redeployed:\n  - shop: to web3' in text
    assert 'Nothing to do' not in text
    assert summary.headline().startswith('run failed')


def test_run_level_failures_and_hosts_that_failed():
    summary = RunSummary(
        [RENEWED, FAILED],
        run_errors=['Could not pull the store: Failed to list s3://b/p/: AccessDenied',
                    'Step "Create the orders" failed: bad account key', ''],
        run_error='Could not pull the store: Failed to list s3://b/p/: AccessDenied',   # the same: once
        deployed=[dict(host='web1', certificate='app1'), dict(host='web2', certificate='app1')],
        hosts=[dict(host='web3', status='unreachable', msg='ssh: connect to host 127.0.0.99 port 22: refused'),
               dict(host='web2', status='rolled_back', certificates=['app1'], msg='nginx -t failed'),
               dict(host='web4', status='odd', msg='x'), 'web5'],
        title='nightly')
    text = summary.text()
    assert text.count('Could not pull the store') == 1
    assert ('Run failed:\n  - error: Could not pull the store: Failed to list s3://b/p/: AccessDenied\n'
            '  - error: Step "Create the orders" failed: bad account key\n') in text
    hosts = text.split('Hosts failed:')[1].split('Renewed:')[0]
    assert '  - web3: unreachable: ssh: connect to host 127.0.0.99 port 22: refused' in hosts
    assert '  - web2: rolled back (app1): nginx -t failed' in hosts
    assert '  - web4: failed: x' in hosts and '  - web5: failed\n' in hosts
    assert summary.headline() == 'run failed, 1 failed, 1 renewed, 4 hosts failed'
    # web2 took app1 but was rolled back: it counts as failed, not deployed.
    assert summary.totals_line() == ('Totals: 0 issued, 1 renewed, 0 unchanged, 1 failed; 1 host deployed, '
                                     '4 hosts failed; 2 run failures.')
    assert 'web3' in summary.html() and 'web3' in json.dumps(summary.slack_payload())
    assert not RunSummary([VALID], hosts=[dict(host='web3', status='unreachable')]).nothing_to_do


def test_results_with_missing_or_odd_fields_still_summarise():
    summary = RunSummary([{}, dict(name='x', failed=True), dict(name='y', days_left='n/a', action='renew')])
    text = summary.text()
    assert 'x: no reason given' in text
    # y has no usable days and changed is missing: neither renewed nor expiring.
    assert summary.counts()['checked'] == 3 and summary.counts()['failed'] == 1
    assert summary.counts()['valid'] == 2 and summary.counts()['unchanged'] == 2


def test_renderings_escape_markup():
    hostile = dict(FAILED, name='a<b>&c', msg='<script>alert(1)</script> & more')
    summary = RunSummary([hostile])
    page = summary.html()
    assert '<script>' not in page and '&lt;script&gt;' in page
    payload = summary.slack_payload()
    dumped = json.dumps(payload)
    assert '<script>' not in dumped and '&lt;script&gt;' in dumped
    assert '&amp; more' in dumped


def test_slack_payload_shape_and_limits():
    results = [dict(FAILED, name='cert-%03d' % i, msg='x' * 500) for i in range(300)]
    payload = RunSummary(results, title='T' * 400).slack_payload(channel='#pki', username='autotls')
    assert payload['channel'] == '#pki' and payload['username'] == 'autotls'
    blocks = payload['blocks']
    assert blocks[0]['type'] == 'header' and len(blocks[0]['text']['text']) <= 150
    assert len(blocks) <= 50
    for block in blocks[1:]:
        assert block['text']['type'] == 'mrkdwn'
        assert len(block['text']['text']) <= 3000
    assert 'more blocks left out' in blocks[-1]['text']['text']
    assert len(payload['text']) <= 40000


def test_email_is_text_with_html_alternative():
    summary = RunSummary([RENEWED, FAILED], title='nightly')
    message = build_email(summary, 'autotls@example.test', ['a@example.test', 'b@example.test'], '[PKI]')
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed['Subject'] == '[PKI] nightly: 1 failed, 1 renewed'
    assert parsed['To'] == 'a@example.test, b@example.test'
    assert parsed['Auto-Submitted'] == 'auto-generated'
    assert parsed.get_content_type() == 'multipart/alternative'
    plain = parsed.get_body(('plain',)).get_content()
    page = parsed.get_body(('html',)).get_content()
    assert 'qa1-wildcard: Failed to list hosted zones' in plain
    assert '<b>qa1-wildcard</b>' in page


def test_formatting_helpers():
    assert format_expiry('2027-02-20T10:00:00Z') == '2027-02-20 10:00 UTC'
    assert format_expiry('tomorrow') == 'tomorrow'
    assert format_time_left(45.7) == '45 days left'
    assert format_time_left(1.0) == '24 hours left'
    assert format_time_left(1 / 24.0) == '1 hour left'
    assert format_time_left(-0.5) == 'expired 12 hours ago'
    assert format_time_left(-3.2) == 'expired 3 days ago'


def test_redact_and_webhook_secrets():
    secrets = webhook_secrets(WEBHOOK)
    assert WEBHOOK in secrets and '/services/T000/B000/s3cr3tT0k3n' in secrets
    text = "HTTPSConnectionPool(host='x', port=443): Max retries exceeded with url: /services/T000/B000/s3cr3tT0k3n"
    assert 's3cr3tT0k3n' not in redact(text, secrets)
    assert redact('no secret here', secrets + [None, '']) == 'no secret here'


def test_secrets_absent_from_summary_and_errors():
    closed = free_tcp_port()
    webhook = 'http://127.0.0.1:%d/services/T000/B000/s3cr3tT0k3n' % closed
    summary = RunSummary([RENEWED, FAILED, EXPIRING])
    outcome = send_summary(
        summary, slack=dict(webhook_url=webhook, allow_http=True),
        mail=dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=closed, starttls=False,
                  username='autotls', password=PASSWORD, subject='[autotls]', allow_plain_auth=True),
        timeout=1)
    assert outcome.sent == dict(slack=False, email=False)
    assert len(outcome.errors) == 2
    everything = summary.text() + summary.html() + json.dumps(summary.slack_payload()) + '\n'.join(outcome.errors)
    for secret in (webhook, 's3cr3tT0k3n', PASSWORD):
        assert secret not in everything
    assert 'Slack webhook http://127.0.0.1:%d/...' % closed in outcome.errors[0]
    assert 'smtp://127.0.0.1:%d' % closed in outcome.errors[1]


def test_check_mode_sends_nothing(webhook_server):
    server = webhook_server([200])
    outcome = send_summary(RunSummary([FAILED]), slack=dict(webhook_url=server.url, allow_http=True), check_mode=True)
    assert outcome.sent == dict(slack=False, email=False) and outcome.errors == []
    assert server.posts == []


def test_unreadable_ca_path_is_a_channel_error(tmp_path):
    outcome = send_summary(RunSummary([]), slack=dict(webhook_url=WEBHOOK), ca_path=str(tmp_path / 'missing.pem'),
                           mail=dict(to=['ops@example.test'], smtp_host='localhost'))
    assert outcome.sent == dict(slack=False, email=False)
    assert len(outcome.errors) == 2 and all('missing.pem is not a readable file' in e for e in outcome.errors)


def test_bad_channel_configuration_is_a_channel_error():
    outcome = send_summary(RunSummary([]), slack=dict(webhook_url='ftp://example.test/x'),
                           mail=dict(to=[], smtp_host='localhost', starttls=False))
    assert outcome.sent == dict(slack=False, email=False)
    assert 'https:// URL' in outcome.errors[0]
    assert 'email.to' in outcome.errors[1]


# ---------------------------------------------------------------- Slack retries

@pytest.fixture
def webhook_server():
    """webhook_server(answers) -> a started receiver; `answers`: statuses (or (status, headers)) in order."""
    with contextlib.ExitStack() as stack:
        yield lambda answers: stack.enter_context(WebhookReceiver(answers))


def test_slack_honours_retry_after(webhook_server):
    server = webhook_server([(429, {'Retry-After': '1'}), 200])
    webhook = SlackWebhook(server.url, allow_http=True, timeout=10)
    started = time.monotonic()
    assert webhook.send({'text': 'hello'}) == 2
    assert time.monotonic() - started >= 0.9
    assert server.posts == [{'text': 'hello'}, {'text': 'hello'}]


def test_slack_retry_after_capped_and_deadline(webhook_server):
    # An hour-long Retry-After is waited for MAX_RETRY_AFTER seconds only (sleeps recorded, not slept).
    server = webhook_server([(429, {'Retry-After': '3600'})] * 3 + [200])
    waits = []
    assert SlackWebhook(server.url, allow_http=True, timeout=25, sleep=waits.append).send({'text': 'x'}) == 4
    assert waits == [MAX_RETRY_AFTER] * 3
    # A Retry-After longer than what is left of the deadline ends the attempts at once.
    server = webhook_server([(429, {'Retry-After': '30'})])
    started = time.monotonic()
    with pytest.raises(NotificationError, match='gave up after 1 attempt within the 5 s timeout'):
        SlackWebhook(server.url, allow_http=True, timeout=5).send({'text': 'x'})
    assert time.monotonic() - started < 2


def test_slack_server_errors_are_retried_client_errors_not(webhook_server):
    server = webhook_server([503, 502, 200])
    waits = []
    assert SlackWebhook(server.url, allow_http=True, timeout=30, sleep=waits.append).send({'text': 'x'}) == 3
    assert waits == [1.0, 2.0]
    server = webhook_server([404])
    with pytest.raises(NotificationError) as info:
        SlackWebhook(server.url, allow_http=True, timeout=30).send({'text': 'x'})
    assert len(server.posts) == 1
    assert 'HTTP 404 no_service' in info.value.msg and 'make a new one' in info.value.msg
    assert '/services/T1/B1/tok' not in info.value.msg


# ---------------------------------------------------------------- SMTP policies (real aiosmtpd)

class _MailHandler:
    """Records messages; answers RCPT with 550 for unknown@ and DATA from a script (default 250)."""

    def __init__(self, data_answers=()):
        self.data_answers = list(data_answers)
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith('unknown@'):
            return '550 5.1.1 no such user'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_answers:
            return self.data_answers.pop(0)
        self.messages.append(envelope)
        return '250 OK'


@pytest.fixture
def mail_server(tmp_path):
    """mail_server(handler, implicit_tls=False, auth=False) -> (port, ca_file) of a started aiosmtpd."""
    controller_mod = pytest.importorskip('aiosmtpd.controller')
    smtp_mod = pytest.importorskip('aiosmtpd.smtp')
    import ssl  # pylint: disable=import-outside-toplevel

    from testbed.tls import write_server_tls  # pylint: disable=import-outside-toplevel

    tls = write_server_tls(str(tmp_path / 'tls'))
    started = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # pylint: disable=unused-argument
        return smtp_mod.AuthResult(
            success=auth_data.login == b'autotls' and auth_data.password == PASSWORD.encode(), handled=False)

    def start(handler, implicit_tls=False, auth=False):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        kwargs = dict(hostname='127.0.0.1', port=free_tcp_port())
        if implicit_tls:
            kwargs['ssl_context'] = context
        if auth:
            kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=not implicit_tls)
            if not implicit_tls:
                kwargs.update(tls_context=context, require_starttls=True)
        controller = controller_mod.Controller(handler, **kwargs)
        controller.start()
        started.append(controller)
        return kwargs['port'], tls.ca_cert

    yield start
    for controller in started:
        controller.stop()


def _message():
    return build_email(RunSummary([FAILED]), 'autotls@example.test', ['ops@example.test'])


def test_smtp_transient_answer_is_retried(mail_server):
    handler = _MailHandler(['451 4.3.0 try again later'])
    port, dummy = mail_server(handler)
    waits = []
    mailer = SmtpMailer('127.0.0.1', port, starttls=False, timeout=10, sleep=waits.append)
    assert mailer.send(_message(), 'autotls@example.test', ['ops@example.test']) == {}
    assert mailer.attempts == 2 and waits == [1.0]
    assert len(handler.messages) == 1


def test_smtp_permanent_answer_is_not_retried(mail_server):
    handler = _MailHandler(['554 5.7.1 rejected as spam'])
    port, dummy = mail_server(handler)
    mailer = SmtpMailer('127.0.0.1', port, starttls=False, timeout=10)
    with pytest.raises(NotificationError, match='the server answered 554 5.7.1 rejected as spam'):
        mailer.send(_message(), 'autotls@example.test', ['ops@example.test'])
    assert mailer.attempts == 1


def test_smtp_partial_refusal_is_reported(mail_server):
    handler = _MailHandler()
    port, dummy = mail_server(handler)
    outcome = send_summary(RunSummary([FAILED]), mail=dict(
        to=['ops@example.test', 'unknown@example.test'], smtp_host='127.0.0.1', smtp_port=port, starttls=False))
    assert outcome.sent['email'] is True
    assert outcome.errors == ['Email: some recipients were refused: unknown@example.test: 550 5.1.1 no such user']
    assert [m.rcpt_tos for m in handler.messages] == [['ops@example.test']]


def test_smtp_starttls_auth_and_wrong_password(mail_server):
    handler = _MailHandler()
    port, ca_file = mail_server(handler, auth=True)
    mail = dict(to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=port, username='autotls')
    outcome = send_summary(RunSummary([FAILED]), mail=dict(mail, password=PASSWORD), ca_path=ca_file)
    assert outcome.sent['email'] is True and outcome.errors == []
    wrong = 'not-the-' + PASSWORD
    outcome = send_summary(RunSummary([FAILED]), mail=dict(mail, password=wrong), ca_path=ca_file)
    assert outcome.sent['email'] is False
    assert 'authentication failed (535' in outcome.errors[0] and 'check email.username and email.password' in outcome.errors[0]
    assert wrong not in outcome.errors[0]
    # Without the test CA the server's certificate is not trusted, and the error says what to set.
    outcome = send_summary(RunSummary([FAILED]), mail=dict(mail, password=PASSWORD))
    assert outcome.sent['email'] is False and 'set ca_path' in outcome.errors[0]
    assert len(handler.messages) == 1


def test_smtp_implicit_tls(mail_server):
    handler = _MailHandler()
    port, ca_file = mail_server(handler, implicit_tls=True)
    outcome = send_summary(RunSummary([FAILED]), ca_path=ca_file, mail=dict(
        to=['ops@example.test'], smtp_host='127.0.0.1', smtp_port=port, ssl=True, starttls=True))
    assert outcome.errors == [] and outcome.sent['email'] is True
    assert len(handler.messages) == 1


# ---------------------------------------------------------------- input checks

def test_http_webhooks_are_refused_unless_allowed():
    hook = 'http://hooks.example.test/services/T000/B000/s3cr3tT0k3n'
    with pytest.raises(ConfigurationError) as info:
        check_options(dict(slack=dict(webhook_url=hook)))
    assert info.value.msg.startswith('slack.webhook_url is an http:// URL (http://hooks.example.test/...)')
    assert 'slack.allow_http' in info.value.msg and 's3cr3tT0k3n' not in info.value.msg
    check_options(dict(slack=dict(webhook_url=hook, allow_http=True)))
    outcome = send_summary(RunSummary([]), slack=dict(webhook_url=hook), check_mode=True)
    assert 'is an http:// URL' in outcome.errors[0] and 's3cr3tT0k3n' not in outcome.errors[0]
    with pytest.raises(ConfigurationError, match='must be an https:// URL'):
        check_options(dict(slack=dict(webhook_url='https://[::1')))


def test_smtp_auth_without_tls_is_refused_unless_allowed():
    mail = dict(to=['ops@example.test'], smtp_host='mail.example.test', starttls=False, ssl=False,
                username='autotls', password=PASSWORD)
    with pytest.raises(ConfigurationError) as info:
        check_options(dict(email=mail))
    assert info.value.msg.startswith('email.username is set but email.starttls and email.ssl are both false')
    assert 'email.allow_plain_auth' in info.value.msg and PASSWORD not in info.value.msg
    check_options(dict(email=dict(mail, allow_plain_auth=True)))
    check_options(dict(email=dict(mail, starttls=True)))
    check_options(dict(email=dict(mail, ssl=True)))
    check_options(dict(email=dict(mail, username=None, password=None)))
    with pytest.raises(ConfigurationError, match='allow_plain_auth'):
        SmtpMailer('mail.example.test', starttls=False, username='u', password='p')


@pytest.mark.parametrize('option, params', [
    ('email.subject', dict(email=dict(to=['a@example.test'], smtp_host='h', subject='[x]\r\nBcc: evil@example.test'))),
    ('email.from', dict(email=dict(to=['a@example.test'], smtp_host='h', **{'from': 'a@example.test\nBcc: e@x'}))),
    ('email.to[1]', dict(email=dict(to=['a@example.test', 'b@example.test\rCc: e@x'], smtp_host='h'))),
    ('title', dict(title='nightly\nBcc: e@x')),
    ('slack.channel', dict(slack=dict(webhook_url=WEBHOOK, channel='#pki\n'))),
])
def test_line_breaks_in_header_values_are_refused(option, params):
    with pytest.raises(ConfigurationError) as info:
        check_options(params)
    assert info.value.msg.startswith('%s must be one line' % option)
    assert 'line break (CR or LF)' in info.value.msg


@pytest.mark.parametrize('params, message', [
    (dict(timeout=0), 'timeout must be more than 0 and at most 3600 seconds, got 0'),
    (dict(timeout=-5), 'timeout must be more than 0 and at most 3600 seconds, got -5'),
    (dict(timeout=86400), 'timeout must be more than 0 and at most 3600 seconds, got 86400'),
    (dict(expiring_days=-1), 'expiring_days must be between 0 and 3650 days, got -1'),
    (dict(email=dict(to=['a@example.test'], smtp_host='h', smtp_port=0)), 'email.smtp_port must be between 1 and 65535, got 0'),
    (dict(email=dict(to=['a@example.test'], smtp_host='h', smtp_port=70000)), 'email.smtp_port must be between 1 and 65535, got 70000'),
])
def test_numbers_out_of_range_name_the_option(params, message):
    with pytest.raises(ConfigurationError) as info:
        check_options(params)
    assert info.value.msg.startswith(message)


def test_good_options_pass():
    check_options(dict(timeout=30, expiring_days=14, title='nightly', slack=dict(webhook_url=WEBHOOK, channel='#pki'),
                       email=dict(to=['a@example.test'], smtp_host='h', smtp_port=587, subject='[autotls]')))


def test_the_summary_names_the_issuer_a_moved_certificate_and_what_was_deferred():
    from ansible_collections.autotls.acme.plugins.module_utils._notify.notify import RunSummary
    results = [
        {'name': 'app1', 'action': 'renew', 'changed': True, 'acme_issuer': 'letsencrypt',
         'not_after': '2027-02-20T10:00:00Z', 'days_left': 89.9},
        {'name': 'app2', 'action': 'renew', 'changed': True, 'acme_issuer': 'private', 'moved': True,
         'issuers_tried': ['letsencrypt: rate limited (urn:ietf:params:acme:error:rateLimited)'],
         'not_after': '2027-02-20T10:00:00Z', 'days_left': 89.9},
        {'name': 'app3', 'action': 'none', 'changed': False, 'deferred': True, 'days_left': 20,
         'reason': 'letsencrypt: rate limited; deferred to the next run (the certificate in place is valid until ...)'},
    ]
    summary = RunSummary(results, title='t')
    text = summary.text()
    assert '  - app1: new expiry 2027-02-20 10:00 UTC, 89 days left, from letsencrypt' in text
    assert 'from private (moved; letsencrypt: rate limited' in text
    assert 'Deferred (rate limited):\n  - app3: letsencrypt: rate limited; deferred to the next run' in text
    assert summary.totals_line().startswith('Totals: 0 issued, 2 renewed, 0 unchanged, 0 failed, 1 deferred;')
    assert 'deferred' in summary.headline() and '1 deferred (rate limited).' in summary.count_line()
