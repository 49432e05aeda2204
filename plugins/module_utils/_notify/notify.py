# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One summary per run, sent to a Slack incoming webhook and/or by email.

:class:`RunSummary` sorts the certificate module's per-certificate results into
renewed, failed, expiring soon and valid, and renders the same content as plain text,
HTML and Slack blocks. :class:`SlackWebhook` and :class:`SmtpMailer` deliver it with
bounded retries under one overall deadline each; :func:`send_summary` runs the
configured channels and collects their errors, so one broken channel never keeps the
other from sending. Nothing here ever puts the webhook URL or the SMTP password in a
message: errors pass through :func:`redact` first.
"""

from __future__ import annotations

import datetime
import email.utils
import html
import os
import smtplib
import socket
import ssl
import time
import traceback
from email.message import EmailMessage
from urllib.parse import urlsplit

from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import PORT_RANGE, check_range
from ansible_collections.autotls.acme.plugins.module_utils._common.retry import (
    RETRYABLE_HTTP_STATUS,
    RetriesExhausted,
    RetryPolicy,
    TryAgain,
    parse_retry_after,
    retry,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.urls import check_http_url
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError

try:
    import requests
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

DEFAULT_EXPIRING_DAYS = 14
MAX_EXPIRING_DAYS = 3650
MAX_TIMEOUT = 3600
# What each host problem is called in the summary.
HOST_STATUSES = ('unreachable', 'failed', 'rolled_back')
_HOST_STATUS_TEXT = {'unreachable': 'unreachable', 'failed': 'failed', 'rolled_back': 'rolled back'}
DEFAULT_SUBJECT_PREFIX = '[autotls]'
# Longest a single Retry-After is honoured for; the overall deadline still applies.
MAX_RETRY_AFTER = 10.0
# Deliveries: 1, 2, 4, 8, then 10 s between attempts (or the server's Retry-After, capped),
# as many as the timeout allows.
_RETRY_POLICY = RetryPolicy(attempts=1000, backoff=1.0, max_backoff=MAX_RETRY_AFTER,
                            retry_after_cap=MAX_RETRY_AFTER, jitter=False)
# Slack limits: 50 blocks per message, 3000 characters per section text, 150 per header.
_SLACK_MAX_BLOCKS = 50
_SLACK_SECTION_CHARS = 2900
_SLACK_HEADER_CHARS = 150
_SLACK_TEXT_CHARS = 35000
# Longest failure reason shown in a summary line.
_REASON_CHARS = 600
# Certificates shorter-lived than this many times `expiring_days` are judged by the
# fraction of their lifetime left instead (a 24-hour certificate always has < 14 days).
_SHORT_LIVED_FACTOR = 2
_SHORT_LIVED_FRACTION = 0.25
_MASK = '********'


class NotificationError(AutoTLSError):
    """A channel could not deliver the summary; the message says what to change."""


def redact(text, secrets):
    """``text`` with every non-empty secret (and a URL's path, for webhooks) masked."""
    if text is None:
        return text
    text = str(text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text


def webhook_secrets(url):
    """What must never appear in output for a webhook URL: the URL and its path (the token)."""
    if not url:
        return []
    secrets = [url]
    parts = urlsplit(url)
    if parts.path and parts.path != '/':
        secrets.append(parts.path)
        # requests may show the path without its leading slash, or with the query.
        secrets.append(parts.path.lstrip('/'))
    if parts.query:
        secrets.append(parts.query)
    return secrets


def _one_line(text, limit=_REASON_CHARS):
    text = ' '.join(str(text).split())
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + u'\u2026'
    return text


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def format_expiry(not_after):
    """``2027-02-20T10:00:00Z`` as ``2027-02-20 10:00 UTC``; anything else unchanged."""
    if not not_after:
        return None
    try:
        moment = datetime.datetime.strptime(str(not_after), '%Y-%m-%dT%H:%M:%SZ')
    except ValueError:
        return str(not_after)
    return moment.strftime('%Y-%m-%d %H:%M UTC')


def format_time_left(days):
    """Days left in words: hours below two days, whole days above, "expired" below zero."""
    if days is None:
        return None
    if days < 0:
        hours = -days * 24
        if hours < 48:
            return 'expired %d hours ago' % round(hours)
        return 'expired %d days ago' % int(-days)
    if days < 2:
        hours = int(round(days * 24))
        return '%d hour%s left' % (hours, '' if hours == 1 else 's')
    return '%d days left' % int(days)


class _Entry:
    """One certificate result, normalised (the module's results may come through Jinja)."""

    def __init__(self, result, index):
        result = result if isinstance(result, dict) else {}
        self.name = str(result.get('name') or '(certificate %d)' % (index + 1))
        self.action = str(result.get('action') or 'none')
        self.changed = bool(result.get('changed'))
        self.failed = bool(result.get('failed'))
        self.reason = _one_line(result.get('msg') or result.get('reason') or 'no reason given') \
            if self.failed else _one_line(result.get('reason') or '')
        self.not_after = result.get('not_after')
        self.days_left = _number(result.get('days_left'))
        self.fraction_left = _number(result.get('lifetime_fraction_left'))
        hosts = result.get('hosts') or []
        self.hosts = [str(h) for h in hosts] if isinstance(hosts, (list, tuple)) else [str(hosts)]
        # Set when the lifetime does not fit the run interval: what to change.
        schedule = result.get('schedule')
        self.schedule_advice = _one_line(schedule.get('advice') or '', 600) if isinstance(schedule, dict) else ''
        # Issuers in order: the one it was ordered from, and those it moved away from (with why).
        self.acme_issuer = str(result['acme_issuer']) if result.get('acme_issuer') else None
        self.moved = bool(result.get('moved'))
        tried = result.get('issuers_tried') or []
        self.tried = [_one_line(t, 200) for t in tried] if isinstance(tried, (list, tuple)) else [_one_line(tried)]
        self.deferred = bool(result.get('deferred')) and not self.failed

    def issuer_text(self):
        """``from <issuer>``, and ``moved from ...`` for a certificate that left the first issuer."""
        if not self.acme_issuer:
            return ''
        text = 'from %s' % self.acme_issuer
        if self.moved and self.tried:
            text += ' (moved; %s)' % '; '.join(self.tried)
        return text

    @property
    def renewed(self):
        """Issued or renewed in this run (what the summary lists under "Renewed")."""
        return not self.failed and self.changed and self.action in ('issue', 'renew')

    @property
    def issued(self):
        return self.renewed and self.action == 'issue'

    def expiring(self, expiring_days):
        if self.failed or self.renewed or self.deferred or self.days_left is None:
            return False
        if self.fraction_left and self.fraction_left > 0:
            lifetime = self.days_left / self.fraction_left
            if lifetime < _SHORT_LIVED_FACTOR * expiring_days:
                return self.fraction_left < _SHORT_LIVED_FRACTION
        return self.days_left < expiring_days

    def expiry_text(self):
        parts = []
        if self.not_after:
            parts.append(format_expiry(self.not_after))
        if self.days_left is not None:
            parts.append(format_time_left(self.days_left))
        return ', '.join(parts)


class _HostProblem:
    """A host the run could not finish: unreachable, its deploy failed, or rolled back."""

    def __init__(self, item):
        item = item if isinstance(item, dict) else {'host': item}
        self.host = str(item.get('host') or '(unknown host)')
        status = str(item.get('status') or 'failed')
        self.status = status if status in HOST_STATUSES else 'failed'
        self.reason = _one_line(item.get('msg') or '')
        certificates = item.get('certificates') or []
        self.certificates = [str(c) for c in certificates] if isinstance(certificates, (list, tuple)) \
            else [str(certificates)]

    def detail(self):
        text = _HOST_STATUS_TEXT[self.status]
        if self.certificates:
            text += ' (%s)' % ', '.join(self.certificates)
        return '%s: %s' % (text, self.reason) if self.reason else text


class RunSummary:
    """What happened in one run, ready to render as text, HTML or Slack blocks.

    ``results``: the certificate module's ``certificates`` list. ``deployed``: dicts with
    ``host`` and ``certificate``. ``run_errors``: failures of the run as a whole (the
    store could not be pulled, conflicting declarations, a step that failed), shown first;
    ``run_error`` is one more, for callers that have a single one. ``hosts``: dicts with
    ``host``, ``status`` (``unreachable``, ``failed`` or ``rolled_back``), ``msg`` and
    optionally ``certificates``.
    """

    def __init__(self, results, deployed=None, expiring_days=DEFAULT_EXPIRING_DAYS, title=None,
                 run_error=None, run_errors=None, hosts=None, report_url=None):
        self.title = title or default_title()
        # A link to the HTML report (check.yml's, published to the S3 store), shown last.
        self.report_url = check_report_url(report_url)
        self.expiring_days = expiring_days
        errors = [run_error] + list(run_errors or [])
        self.run_errors = []
        for error in errors:
            if error and _one_line(error, 2000) not in self.run_errors:
                self.run_errors.append(_one_line(error, 2000))
        self.entries = [_Entry(r, i) for i, r in enumerate(results or [])]
        self.deployed = {}
        self.deployed_servers = {}      # (certificate, host) -> the servers it was deployed to there
        for item in deployed or []:
            if isinstance(item, dict) and item.get('certificate') and item.get('host'):
                hosts_of = self.deployed.setdefault(str(item['certificate']), [])
                if str(item['host']) not in hosts_of:
                    hosts_of.append(str(item['host']))
                if item.get('servers'):
                    self.deployed_servers[(str(item['certificate']), str(item['host']))] = [
                        str(server) for server in item['servers']]
        self.host_problems = [_HostProblem(item) for item in hosts or []]
        self.renewed = [e for e in self.entries if e.renewed]
        self.failed = [e for e in self.entries if e.failed]
        self.deferred = [e for e in self.entries if e.deferred]
        self.expiring = sorted((e for e in self.entries if e.expiring(expiring_days)),
                               key=lambda e: e.days_left)
        self.unscheduled = [e for e in self.entries if e.schedule_advice and not e.failed]
        renewed_names = set(e.name for e in self.renewed)
        self.redeployed = [(name, hosts_of) for name, hosts_of in sorted(self.deployed.items())
                           if name not in renewed_names]

    # -- content ----------------------------------------------------------
    @property
    def nothing_to_do(self):
        return not (self.renewed or self.failed or self.expiring or self.redeployed or self.run_errors
                    or self.host_problems or self.unscheduled or self.deferred)

    def counts(self):
        valid = len(self.entries) - len(self.renewed) - len(self.failed) - len(self.expiring) - len(self.deferred)
        issued = len([e for e in self.entries if e.issued])
        failed_hosts = set(p.host for p in self.host_problems)
        deployed_hosts = set(h for hosts_of in self.deployed.values() for h in hosts_of)
        return dict(checked=len(self.entries), renewed=len(self.renewed), failed=len(self.failed),
                    expiring=len(self.expiring), valid=valid,
                    deployed=sum(len(h) for h in self.deployed.values()),
                    issued=issued, renewed_only=len(self.renewed) - issued,
                    unchanged=len(self.entries) - len(self.renewed) - len(self.failed) - len(self.deferred),
                    deferred=len(self.deferred),
                    hosts_deployed=len(deployed_hosts - failed_hosts), hosts_failed=len(failed_hosts),
                    run_errors=len(self.run_errors))

    def totals_line(self):
        """The job output's last line: issued, renewed, unchanged, failed, hosts deployed, hosts failed."""
        counts = self.counts()
        line = 'Totals: %d issued, %d renewed, %d unchanged, %d failed%s; %d host%s deployed, %d host%s failed' % (
            counts['issued'], counts['renewed_only'], counts['unchanged'], counts['failed'],
            ', %d deferred' % counts['deferred'] if counts['deferred'] else '',
            counts['hosts_deployed'], '' if counts['hosts_deployed'] == 1 else 's',
            counts['hosts_failed'], '' if counts['hosts_failed'] == 1 else 's')
        if self.run_errors:
            line += '; %d run failure%s' % (len(self.run_errors), '' if len(self.run_errors) == 1 else 's')
        return line + '.'

    def headline(self):
        """A few words for a subject line or a notification preview."""
        counts = self.counts()
        if self.nothing_to_do:
            return 'nothing to do, %d certificate%s valid' % (counts['checked'], '' if counts['checked'] == 1 else 's')
        words = []
        if self.run_errors:
            words.append('run failed')
        for key, label in (('failed', 'failed'), ('renewed', 'renewed'), ('deferred', 'deferred'),
                           ('expiring', 'expiring soon')):
            if counts[key]:
                words.append('%d %s' % (counts[key], label))
        if counts['hosts_failed']:
            words.append('%d host%s failed' % (counts['hosts_failed'], '' if counts['hosts_failed'] == 1 else 's'))
        if self.redeployed and not words:
            words.append('%d redeployed' % len(self.redeployed))
        if self.unscheduled and not words:
            words.append('%d lifetime%s shorter than the run interval allows'
                         % (len(self.unscheduled), '' if len(self.unscheduled) == 1 else 's'))
        return ', '.join(words)

    def count_line(self):
        counts = self.counts()
        line = '%d certificate%s checked: %d renewed, %d failed, %d expiring soon, %d valid.' % (
            counts['checked'], '' if counts['checked'] == 1 else 's', counts['renewed'],
            counts['failed'], counts['expiring'], counts['valid'])
        if counts['deferred']:
            line += ' %d deferred (rate limited).' % counts['deferred']
        if counts['deployed']:
            line += ' %d deployment%s to hosts.' % (counts['deployed'], '' if counts['deployed'] == 1 else 's')
        if counts['hosts_failed']:
            line += ' %d host%s failed.' % (counts['hosts_failed'], '' if counts['hosts_failed'] == 1 else 's')
        return line

    def nothing_line(self):
        line = 'Nothing to do: %d certificate%s checked, all valid.' % (
            len(self.entries), '' if len(self.entries) == 1 else 's')
        dated = [e for e in self.entries if e.days_left is not None]
        if dated:
            first = min(dated, key=lambda e: e.days_left)
            line += ' Next expiry: %s, %s.' % (first.name, first.expiry_text())
        return line

    def sections(self):
        """``[(heading, [(name, detail), ...]), ...]``, only the non-empty ones."""
        sections = []
        if self.run_errors:
            sections.append(('Run failed', [('error', error) for error in self.run_errors]))
        if self.host_problems:
            sections.append(('Hosts failed', [(p.host, p.detail()) for p in self.host_problems]))
        if self.renewed:
            lines = []
            for entry in self.renewed:
                detail = 'new expiry %s' % entry.expiry_text() if entry.expiry_text() else 'renewed'
                if entry.action == 'issue':
                    detail = 'first issued, ' + detail
                if entry.issuer_text():
                    detail += ', ' + entry.issuer_text()
                hosts_of = self.deployed.get(entry.name)
                if hosts_of:
                    detail += '; deployed to %s' % self._where(entry.name, hosts_of)
                lines.append((entry.name, detail))
            sections.append(('Renewed', lines))
        if self.failed:
            lines = []
            for entry in self.failed:
                detail = entry.reason
                if entry.days_left is not None:
                    detail += ' (current certificate: %s)' % entry.expiry_text()
                lines.append((entry.name, detail))
            sections.append(('Failed', lines))
        if self.deferred:
            sections.append(('Deferred (rate limited)', [(e.name, e.reason) for e in self.deferred]))
        if self.expiring:
            sections.append(('Expiring soon', [(e.name, e.expiry_text()) for e in self.expiring]))
        if self.unscheduled:
            sections.append(('Lifetime shorter than the run interval allows',
                             [(e.name, e.schedule_advice) for e in self.unscheduled]))
        if self.redeployed:
            sections.append(('Redeployed', [(name, 'to %s' % self._where(name, hosts_of))
                                            for name, hosts_of in self.redeployed]))
        return sections

    def _where(self, name, hosts_of):
        """'edge1 (nginx, haproxy), app1': each host, with the servers it serves the certificate with."""
        return ', '.join('%s (%s)' % (host, ', '.join(self.deployed_servers[(name, host)]))
                         if (name, host) in self.deployed_servers else host for host in hosts_of)

    # -- renderings -------------------------------------------------------
    def report_line(self):
        return 'Report: %s' % self.report_url if self.report_url else None

    def text(self):
        lines = [self.title, '']
        if self.nothing_to_do:
            lines.append(self.nothing_line())
            if self.report_url:
                lines += ['', self.report_line()]
            return '\n'.join(lines) + '\n'
        lines.append(self.count_line())
        for heading, items in self.sections():
            lines.append('')
            lines.append('%s:' % heading)
            for name, detail in items:
                lines.append('  - %s: %s' % (name, detail) if detail else '  - %s' % name)
        if self.report_url:
            lines += ['', self.report_line()]
        return '\n'.join(lines) + '\n'

    def html(self):
        esc = html.escape
        parts = ['<!DOCTYPE html>', '<html><body style="font-family: sans-serif">',
                 '<h2>%s</h2>' % esc(self.title)]
        if self.nothing_to_do:
            parts.append('<p>%s</p>' % esc(self.nothing_line()))
        else:
            parts.append('<p>%s</p>' % esc(self.count_line()))
            for heading, items in self.sections():
                parts.append('<h3>%s</h3>' % esc(heading))
                parts.append('<ul>')
                for name, detail in items:
                    parts.append('<li><b>%s</b>%s</li>' % (esc(name), (': ' + esc(detail)) if detail else ''))
                parts.append('</ul>')
        if self.report_url:
            parts.append('<p><a href="%s">Open the report</a></p>' % esc(self.report_url, quote=True))
        parts.append('</body></html>')
        return '\n'.join(parts) + '\n'

    def subject(self, prefix=DEFAULT_SUBJECT_PREFIX):
        subject = '%s: %s' % (self.title, self.headline())
        return ('%s %s' % (prefix, subject)) if prefix else subject

    def slack_payload(self, channel=None, username=None):
        """The webhook body: ``text`` (the fallback and preview) and mrkdwn ``blocks``."""
        blocks = [{'type': 'header',
                   'text': {'type': 'plain_text', 'text': _one_line(self.title, _SLACK_HEADER_CHARS)}}]
        if self.nothing_to_do:
            blocks.append(_slack_section(_slack_escape(self.nothing_line())))
        else:
            blocks.append(_slack_section(_slack_escape(self.count_line())))
            for heading, items in self.sections():
                lines = [u'\u2022 `%s`%s' % (_slack_escape(name).replace('`', "'"),
                                             (': ' + _slack_escape(detail)) if detail else '')
                         for name, detail in items]
                for chunk in _chunks('*%s*' % _slack_escape(heading), lines, _SLACK_SECTION_CHARS):
                    blocks.append(_slack_section(chunk))
        limit = _SLACK_MAX_BLOCKS - (1 if self.report_url else 0)
        if len(blocks) > limit:
            left_out = len(blocks) - (limit - 1)
            blocks = blocks[:limit - 1]
            blocks.append(_slack_section('_%d more blocks left out; the email and the job output have '
                                         'the full summary._' % left_out))
        if self.report_url:
            # Slack's link syntax: <url|text>; the URL's own & < > are escaped as Slack asks.
            blocks.append(_slack_section('<%s|Open the report>' % _slack_escape(self.report_url)))
        payload = {'text': _slack_escape(self.text())[:_SLACK_TEXT_CHARS], 'blocks': blocks}
        if channel:
            payload['channel'] = channel
        if username:
            payload['username'] = username
        return payload


def check_report_url(url):
    """``url`` if it is an http(s) URL on one line (or empty: None), else a ConfigurationError."""
    if not url:
        return None
    # A presigned link lets whoever has it read the report: never shown. <, > and | would break Slack's link.
    check_http_url(url, 'report_url', example='https://bucket.s3.amazonaws.com/report.html?...', secret=True,
                   forbidden='<>|')
    return str(url)


def default_title():
    return 'autotls run on %s' % (socket.gethostname() or 'the controller')


def _slack_escape(text):
    return str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def _slack_section(text):
    return {'type': 'section', 'text': {'type': 'mrkdwn', 'text': text}}


def _chunks(heading, lines, limit):
    """Join ``lines`` under ``heading`` into texts of at most ``limit`` characters."""
    chunks, current = [], heading
    for line in lines:
        line = line if len(line) < limit - len(heading) - 2 else line[:limit - len(heading) - 3] + u'\u2026'
        if len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = heading + ' (continued)'
        current += '\n' + line
    chunks.append(current)
    return chunks


class SlackWebhook:
    """POSTs one message to a Slack incoming webhook.

    Retries connection failures and HTTP 408/429/5xx, waiting the server's Retry-After
    (at most :data:`MAX_RETRY_AFTER` seconds) or a growing backoff, all within ``timeout``
    seconds in total. A read timeout is not retried: the message may have arrived.
    """

    def __init__(self, url, timeout=30, verify=True, http=None, sleep=time.sleep, allow_http=False):
        if not HAS_REQUESTS:
            raise ConfigurationError('The Python library requests is required for Slack notifications',
                                     exception=REQUESTS_IMPORT_ERROR)
        check_webhook_url(url, allow_http)
        parts = urlsplit(url or '')
        self.url = url
        self.secrets = webhook_secrets(url)
        # What a message may show of the URL: scheme and host; the path is the secret.
        self.display = '%s://%s/...' % (parts.scheme, parts.netloc.rsplit('@', 1)[-1])
        self.timeout = float(timeout)
        self.verify = verify
        self.http = http
        self.sleep = sleep
        self.attempts = 0

    def _fail(self, text):
        return NotificationError(redact('Slack webhook %s: %s' % (self.display, text), self.secrets))

    def send(self, payload):
        """Deliver ``payload``; returns the number of attempts, raises NotificationError."""
        deadline = Deadline(self.timeout)
        http = self.http or requests.Session()

        def attempt(_number):
            self.attempts += 1
            try:
                response = http.post(self.url, json=payload, verify=self.verify,
                                     timeout=max(1.0, min(10.0, deadline.remaining())))
            except requests.exceptions.ConnectionError as exc:
                # Includes ConnectTimeout: nothing reached Slack, so retrying is safe.
                raise TryAgain('could not connect (%s)' % exc.__class__.__name__)
            except requests.exceptions.RequestException as exc:
                raise self._fail('the request failed and was not retried, since the message may '
                                 'have been delivered (%s)' % exc.__class__.__name__)
            if 200 <= response.status_code < 300:
                return self.attempts
            body = _one_line(response.text or '', 200)
            if response.status_code not in RETRYABLE_HTTP_STATUS:
                raise self._fail('Slack refused the message with HTTP %d %s. %s' % (
                    response.status_code, body, _slack_hint(response.status_code, body)))
            raise TryAgain('HTTP %d %s' % (response.status_code, body),
                           parse_retry_after(response.headers.get('Retry-After')))

        try:
            return retry(attempt, _RETRY_POLICY, deadline, sleep=self.sleep)
        except RetriesExhausted as exc:
            raise self._fail(_gave_up(exc, self.timeout))
        finally:
            if self.http is None:
                http.close()


def _gave_up(exhausted, timeout):
    return 'gave up after %d attempt%s within the %.0f s timeout; last error: %s' % (
        exhausted.attempts, '' if exhausted.attempts == 1 else 's', timeout, exhausted.last_reason)


def check_webhook_url(url, allow_http=False):
    """Refuse a webhook URL that is not https:// (its path is the secret) unless allowed."""
    parts = check_http_url(url, 'slack.webhook_url', example='https://hooks.slack.com/services/... (a Slack incoming '
                           'webhook)', secret=True, kind='https://')
    if parts.scheme == 'http' and not allow_http:
        raise ConfigurationError(
            'slack.webhook_url is an http:// URL (http://%s/...): the webhook\'s path is its secret and would '
            'cross the network unencrypted. Use the https:// URL Slack gave you, or set slack.allow_http to true '
            'for a relay you trust on this host or network' % parts.netloc.rsplit('@', 1)[-1])


def _slack_hint(status, body):
    if status == 404 or 'no_service' in body or 'no_team' in body:
        return 'The webhook no longer exists: make a new one and update slack.webhook_url.'
    if status == 403 or 'invalid_token' in body or 'action_prohibited' in body:
        return 'The webhook was revoked or may not post: check it in the Slack app settings.'
    if 'channel' in body:
        return 'Check slack.channel, or leave it out to post to the channel the webhook was made for.'
    if status == 400:
        return 'Slack did not accept the message body.'
    return ''


class SmtpMailer:
    """Sends one message over SMTP (STARTTLS, implicit TLS or plain), with bounded retries.

    Retried, within ``timeout`` seconds: failures to connect and 4xx (transient)
    answers. Not retried: authentication failures and 5xx answers.
    """

    def __init__(self, host, port=None, starttls=True, use_ssl=False, username=None, password=None,
                 timeout=30, ssl_context=None, sleep=time.sleep, allow_plain_auth=False):
        if not host:
            raise ConfigurationError('email.smtp_host is required')
        check_options(dict(email=dict(smtp_host=host, smtp_port=port, starttls=starttls, ssl=use_ssl,
                                      username=username, allow_plain_auth=allow_plain_auth, to=[])))
        self.host = host
        self.use_ssl = bool(use_ssl)
        self.starttls = bool(starttls) and not self.use_ssl
        self.port = int(port) if port else (465 if self.use_ssl else 587)
        self.username = username
        self.password = password
        if bool(username) != bool(password):
            raise ConfigurationError('email.username and email.password must be given together')
        self.timeout = float(timeout)
        self.ssl_context = ssl_context
        self.sleep = sleep
        self.secrets = [password] if password else []
        self.attempts = 0

    @property
    def display(self):
        return '%s://%s:%d' % ('smtps' if self.use_ssl else 'smtp', self.host, self.port)

    def _fail(self, text):
        return NotificationError(redact('Could not send email through %s: %s' % (self.display, text),
                                        self.secrets))

    def _context(self):
        return self.ssl_context or ssl.create_default_context()

    def _deliver(self, message, sender, recipients, timeout):
        if self.use_ssl:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=self._context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=timeout)
        try:
            if self.starttls:
                conn.ehlo()
                if not conn.has_extn('starttls'):
                    raise self._fail('the server does not offer STARTTLS; set email.starttls to false for a '
                                     'server without TLS (port 25 or a local relay), or email.ssl to true for '
                                     'implicit TLS (port 465)')
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password)
            refused = conn.send_message(message, from_addr=sender, to_addrs=recipients)
        finally:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()
        return refused

    def send(self, message, sender, recipients):
        """Deliver ``message``; returns the refused recipients (a dict), raises NotificationError."""
        deadline = Deadline(self.timeout)

        def attempt(_number):
            self.attempts += 1
            try:
                return self._deliver(message, sender, recipients, max(1.0, min(10.0, deadline.remaining())))
            except NotificationError:
                raise
            except smtplib.SMTPAuthenticationError as exc:
                raise self._fail('authentication failed (%d %s); check email.username and email.password' % (
                    exc.smtp_code, _smtp_text(exc.smtp_error)))
            except smtplib.SMTPNotSupportedError as exc:
                raise self._fail('%s; leave out email.username for a server without AUTH, or enable '
                                 'email.starttls so the server offers it' % exc)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, dummy in exc.recipients.values()]
                last = 'every recipient was refused (%s)' % '; '.join(
                    '%s: %d %s' % (rcpt, code, _smtp_text(text)) for rcpt, (code, text) in sorted(exc.recipients.items()))
                if not all(400 <= code < 500 for code in codes):
                    raise self._fail(last + '; check email.to')
                raise TryAgain(last)
            except smtplib.SMTPResponseException as exc:
                last = '%d %s' % (exc.smtp_code, _smtp_text(exc.smtp_error))
                if not 400 <= exc.smtp_code < 500:
                    raise self._fail('the server answered %s' % last)
                raise TryAgain(last)
            except ssl.SSLError as exc:
                raise self._fail('TLS failed (%s); set ca_path to the CA that issued the mail server\'s '
                                 'certificate, or check email.ssl/email.starttls against the port' % exc)
            except smtplib.SMTPServerDisconnected as exc:
                raise TryAgain('the server closed the connection (%s)' % exc)
            except smtplib.SMTPException as exc:
                # Before OSError: smtplib's exceptions are OSErrors too.
                raise self._fail(str(exc))
            except OSError as exc:
                # Refused, unreachable, timed out, name not resolved: nothing was sent yet.
                raise TryAgain('%s (%s)' % (exc.__class__.__name__, exc) if str(exc) else exc.__class__.__name__)

        try:
            return retry(attempt, _RETRY_POLICY, deadline, sleep=self.sleep)
        except RetriesExhausted as exc:
            raise self._fail(_gave_up(exc, self.timeout))


def _smtp_text(value):
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    return _one_line(value or '', 300)


def build_email(summary, sender, recipients, subject_prefix=DEFAULT_SUBJECT_PREFIX):
    """A multipart/alternative message: the plain-text summary and its HTML twin."""
    message = EmailMessage()
    message['Subject'] = summary.subject(subject_prefix)
    message['From'] = sender
    message['To'] = ', '.join(recipients)
    message['Date'] = email.utils.formatdate(localtime=True)
    message['Message-ID'] = email.utils.make_msgid(domain=_mail_domain(sender))
    # RFC 3834: tells autoresponders not to answer.
    message['Auto-Submitted'] = 'auto-generated'
    message.set_content(summary.text())
    message.add_alternative(summary.html(), subtype='html')
    return message


def _mail_domain(sender):
    address = email.utils.parseaddr(sender)[1]
    return address.rsplit('@', 1)[-1] if '@' in address else None


def default_sender():
    return 'autotls@%s' % (socket.getfqdn() or 'localhost')


def check_one_line(option, value):
    """``value`` if it holds no CR or LF (a mail header, a subject), else a ConfigurationError."""
    if value is not None and ('\r' in str(value) or '\n' in str(value)):
        raise ConfigurationError('%s must be one line, but %r holds a line break (CR or LF): remove it. '
                                 'A header value with a line break could add headers of its own.' % (option, value))
    return value


def check_options(params):
    """Refuse bad notify options early, naming the option (module params as given)."""
    check_range('expiring_days', params.get('expiring_days'), 0, MAX_EXPIRING_DAYS, 'days')
    check_range('timeout', params.get('timeout'), 0, MAX_TIMEOUT, 'seconds', exclusive_minimum=True)
    check_one_line('title', params.get('title'))
    slack = params.get('slack')
    if slack:
        check_webhook_url(slack.get('webhook_url'), slack.get('allow_http'))
        check_one_line('slack.channel', slack.get('channel'))
        check_one_line('slack.username', slack.get('username'))
    mail = params.get('email')
    if mail:
        check_range('email.smtp_port', mail.get('smtp_port'), *PORT_RANGE)
        for option in ('from', 'subject', 'smtp_host', 'username'):
            check_one_line('email.%s' % option, mail.get(option))
        for index, recipient in enumerate(mail.get('to') or []):
            check_one_line('email.to[%d]' % index, recipient)
        encrypted = mail.get('ssl') or mail.get('starttls', True)
        if mail.get('username') and not encrypted and not mail.get('allow_plain_auth'):
            raise ConfigurationError(
                'email.username is set but email.starttls and email.ssl are both false: the password would cross '
                'the network in clear text. Enable email.starttls (port 587) or email.ssl (port 465), or set '
                'email.allow_plain_auth to true for a relay on this host')


class SendResult:
    """What :func:`send_summary` did: ``sent`` per channel and the ``errors`` met (redacted)."""

    def __init__(self):
        self.sent = dict(slack=False, email=False)
        self.errors = []


def send_summary(summary, slack=None, mail=None, timeout=30, verify=True, ca_path=None, check_mode=False,
                 http=None, sleep=time.sleep):
    """Send ``summary`` to each configured channel; a channel's failure does not stop the other.

    ``slack``: the module's ``slack`` option (``webhook_url``, ``channel``, ``username``).
    ``mail``: the module's ``email`` option. In check mode nothing is sent.
    """
    outcome = SendResult()
    secrets = webhook_secrets((slack or {}).get('webhook_url')) + [(mail or {}).get('password')]
    if ca_path and not os.access(ca_path, os.R_OK):
        error = 'ca_path %s is not a readable file of PEM CA certificates' % ca_path
        outcome.errors.extend(error for channel in (slack, mail) if channel)
        return outcome
    if slack:
        try:
            webhook = SlackWebhook(slack.get('webhook_url'), timeout=timeout,
                                   verify=(ca_path or True) if verify else False, http=http, sleep=sleep,
                                   allow_http=slack.get('allow_http', False))
            payload = summary.slack_payload(channel=slack.get('channel'), username=slack.get('username'))
            if not check_mode:
                webhook.send(payload)
                outcome.sent['slack'] = True
        except AutoTLSError as exc:
            outcome.errors.append(redact(exc.msg, secrets))
    if mail:
        try:
            context = None
            if mail.get('ssl') or mail.get('starttls', True):
                context = ssl.create_default_context(cafile=ca_path) if verify else _unverified_context()
            mailer = SmtpMailer(mail.get('smtp_host'), port=mail.get('smtp_port'),
                                starttls=mail.get('starttls', True), use_ssl=mail.get('ssl'),
                                username=mail.get('username'), password=mail.get('password'),
                                timeout=timeout, ssl_context=context, sleep=sleep,
                                allow_plain_auth=mail.get('allow_plain_auth', False))
            recipients = [r for r in (mail.get('to') or []) if r]
            if not recipients:
                raise ConfigurationError('email.to must name at least one recipient')
            message = build_email(summary, mail.get('from') or default_sender(), recipients,
                                  mail.get('subject', DEFAULT_SUBJECT_PREFIX))
            if not check_mode:
                refused = mailer.send(message, message['From'], recipients)
                outcome.sent['email'] = True
                if refused:
                    outcome.errors.append(redact('Email: some recipients were refused: %s' % '; '.join(
                        '%s: %d %s' % (rcpt, code, _smtp_text(text))
                        for rcpt, (code, text) in sorted(refused.items())), secrets))
        except (AutoTLSError, ssl.SSLError, OSError) as exc:
            outcome.errors.append(redact(getattr(exc, 'msg', None) or str(exc), secrets))
    return outcome


def _unverified_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
