# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The metrics of one run, pushed to a Prometheus Pushgateway.

A scheduled run is a batch job: nothing is left to scrape once it ended, so it pushes its
figures to a Pushgateway, which Prometheus scrapes. :func:`run_families` makes them from
the certificate results, the run outcome and the stage marks; :class:`Pushgateway`
sends them.

A run that succeeded replaces the whole group (HTTP PUT). A failed run replaces only the
metrics it sends (POST) and does not send ``autotls_run_last_success_timestamp_seconds``:
the time of the last good run stays, so an alert can say "no successful run for 26 hours"
however many runs failed since.
"""

from __future__ import annotations

import base64
import time
import traceback
from urllib.parse import quote

from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.urls import check_http_url
from ansible_collections.autotls.acme.plugins.module_utils._common.retry import (
    RETRYABLE_HTTP_STATUS,
    RetriesExhausted,
    RetryPolicy,
    TryAgain,
    parse_retry_after,
    retry,
)
from ansible_collections.autotls.acme.plugins.module_utils._metrics.exposition import (
    CONTENT_TYPE,
    Family,
    check_label_name,
    render,
)
from ansible_collections.autotls.acme.plugins.module_utils._notify.notify import RunSummary, redact

try:
    import requests
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

DEFAULT_JOB = 'autotls'
CERTIFICATE_RESULTS = ('issued', 'renewed', 'unchanged', 'failed', 'deferred')
LAST_SUCCESS = 'autotls_run_last_success_timestamp_seconds'
_RETRY_POLICY = RetryPolicy(attempts=6, backoff=0.5, max_backoff=5.0, retry_after_cap=10.0, jitter=False)


class PushError(AutoTLSError):
    """The Pushgateway did not take the metrics; the message says what to change."""


def _deferred(result):
    return bool(result.get('deferred')) or str(result.get('action') or '') in ('defer', 'deferred')


def certificate_counts(results, outcome=None):
    """``{issued, renewed, unchanged, failed, deferred}`` and ``{deployed, failed}`` hosts."""
    results = [r for r in results or [] if isinstance(r, dict)]
    outcome = outcome or {}
    summary = RunSummary(results, deployed=outcome.get('deployed'), hosts=outcome.get('hosts'),
                         run_errors=outcome.get('run_errors'), title='-')
    counts = summary.counts()
    deferred = len([r for r in results if _deferred(r) and not r.get('failed')])
    certificates = dict(issued=counts['issued'], renewed=counts['renewed_only'],
                        unchanged=max(0, counts['unchanged'] + counts.get('deferred', 0) - deferred), failed=counts['failed'],
                        deferred=deferred)
    hosts = dict(deployed=counts['hosts_deployed'], failed=counts['hosts_failed'])
    return certificates, hosts


def stage_durations(marks):
    """``[[stage, unix time at its end], ...]`` (the first mark: the run's start) -> ``{stage: seconds}``.

    A stage's duration is the time since the mark before it; a stage listed twice (a
    retried step) adds up.
    """
    durations = {}
    previous = None
    for index, mark in enumerate(marks or []):
        if not isinstance(mark, (list, tuple)) or len(mark) != 2:
            raise ConfigurationError('stages[%d] must be a [stage, unix time] pair, got %r' % (index, mark))
        try:
            stage, moment = str(mark[0]), float(mark[1])
        except (TypeError, ValueError):
            raise ConfigurationError('stages[%d] must be a [stage, unix time] pair, got %r' % (index, mark))
        if previous is not None:
            durations[stage] = durations.get(stage, 0.0) + max(0.0, moment - previous)
        previous = moment
    return durations


def run_families(results, outcome=None, stages=None, success=True, finished_at=None):
    """The run's metric families (see docs/metrics.md)."""
    finished_at = float(finished_at if finished_at is not None else time.time())
    certificates, hosts = certificate_counts(results, outcome)
    marks = list(stages or [])
    durations = stage_durations(marks)
    families = [
        Family('autotls_run_last_timestamp_seconds', 'When the last run ended, as a Unix timestamp.')
        .add(finished_at),
        Family('autotls_run_success', 'Whether the last run succeeded (1) or failed (0).').add(bool(success)),
        Family('autotls_run_duration_seconds', 'How long the last run took, from its first stage to its end.')
        .add(max(0.0, finished_at - float(marks[0][1])) if marks else None),
        Family('autotls_run_stage_duration_seconds', 'How long each stage of the last run took.'),
        Family('autotls_run_certificates', 'Certificates of the last run by result: issued, renewed, unchanged, '
               'failed, deferred (the CA asked to wait).'),
        Family('autotls_run_hosts', 'Hosts of the last run by result: deployed (a certificate changed), failed.'),
    ]
    for stage, seconds in durations.items():
        families[3].add(round(seconds, 3), stage=stage)
    for result in CERTIFICATE_RESULTS:
        families[4].add(certificates[result], result=result)
    for result in ('deployed', 'failed'):
        families[5].add(hosts[result], result=result)
    if success:
        families.insert(1, Family(LAST_SUCCESS, 'When the last successful run ended, as a Unix timestamp.')
                        .add(finished_at))
    return families


def grouping_path(job, grouping=None):
    """``/metrics/job/<job>/<label>/<value>...``; values with ``/`` (or empty) base64url-encoded."""
    if not job or not isinstance(job, str):
        raise ConfigurationError('autotls_metrics.pushgateway_job must be a non-empty string, got %r' % (job,))
    parts = ['metrics']
    for label, value in [('job', job)] + sorted((grouping or {}).items()):
        if label != 'job':
            check_label_name(label)
        value = '' if value is None else str(value)
        if '/' in value or not value:
            encoded = base64.urlsafe_b64encode(value.encode('utf-8')).decode('ascii') or '='
            parts += ['%s@base64' % label, encoded]
        else:
            parts += [label, quote(value, safe='')]
    return '/' + '/'.join(parts)


def check_url(url):
    """The Pushgateway's base URL (without a trailing ``/``); refused naming the setting when it is not one."""
    check_http_url(url, 'autotls_metrics.pushgateway_url', example='http://pushgateway.example.com:9091',
                   # The URL reaches results, messages and the Pushgateway's logs: credentials go in their own settings.
                   credentials_hint='set pushgateway_username and pushgateway_password (in a vault)',
                   query_hint='give the Pushgateway\'s base URL')
    return url.rstrip('/')


class Pushgateway:
    """PUT or POST one group of metrics, retrying connection failures and 408/429/5xx."""

    def __init__(self, url, timeout=30, verify=True, username=None, password=None, http=None, sleep=time.sleep):
        if not HAS_REQUESTS:
            raise ConfigurationError('The Python library requests is required to push metrics',
                                     exception=REQUESTS_IMPORT_ERROR)
        self.url = check_url(url)
        self.timeout = float(timeout)
        self.verify = verify
        self.auth = (username, password or '') if username else None
        self.secrets = [password] if password else []
        self.http = http
        self.sleep = sleep

    def push(self, families, job=DEFAULT_JOB, grouping=None, replace=True):
        """Send ``families`` to the group; ``replace``: PUT (the whole group) else POST. Returns the URL."""
        target = self.url + grouping_path(job, grouping)
        body = render(families).encode('utf-8')
        method = 'PUT' if replace else 'POST'
        deadline = Deadline(self.timeout)
        http = self.http or requests.Session()

        def attempt(_number):
            try:
                response = http.request(method, target, data=body, headers={'Content-Type': CONTENT_TYPE},
                                        auth=self.auth, verify=self.verify,
                                        timeout=max(1.0, min(10.0, deadline.remaining())))
            except requests.exceptions.ConnectionError as exc:
                raise TryAgain('could not connect (%s)' % exc.__class__.__name__)
            except requests.exceptions.RequestException as exc:
                raise PushError(redact('Failed to push metrics to %s: %s' % (target, exc), self.secrets))
            if 200 <= response.status_code < 300:
                return target
            text = ' '.join((response.text or '').split())[:300]
            if response.status_code in RETRYABLE_HTTP_STATUS:
                raise TryAgain('HTTP %d %s' % (response.status_code, text),
                               parse_retry_after(response.headers.get('Retry-After')))
            hint = ''
            if response.status_code in (401, 403):
                hint = ' Set autotls_metrics.pushgateway_username and pushgateway_password.'
            elif response.status_code == 400:
                hint = ' The Pushgateway refused the metrics (another job pushes the same names with other types?).'
            raise PushError(redact('Failed to push metrics to %s: HTTP %d %s.%s' % (
                target, response.status_code, text, hint), self.secrets))

        try:
            return retry(attempt, _RETRY_POLICY, deadline, what='pushing metrics to %s' % target, sleep=self.sleep)
        except RetriesExhausted as exc:
            raise PushError('Failed to push metrics to %s: %s. Check autotls_metrics.pushgateway_url.' % (target, exc))
