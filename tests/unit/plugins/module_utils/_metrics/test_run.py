# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run's metrics and their push: counts, stage durations, the group URL, PUT vs POST,
retries and errors (against a small recording HTTP server on loopback)."""

import base64
import http.server
import threading

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._metrics import run
from ansible_collections.autotls.acme.plugins.module_utils._metrics.exposition import render
from ansible_collections.autotls.acme.plugins.module_utils._metrics.settings import metrics_hosts, metrics_settings

RESULTS = [
    dict(name='new', action='issue', changed=True),
    dict(name='old', action='renew', changed=True),
    dict(name='same', action='none', changed=False),
    dict(name='busy', action='none', changed=False, deferred=True),
    dict(name='bad', action='renew', changed=False, failed=True, msg='boom'),
]
OUTCOME = dict(deployed=[dict(host='web1', certificate='new'), dict(host='web2', certificate='old')],
               hosts=[dict(host='web2', status='failed', msg='x')], run_errors=[])
MARKS = [['start', 1000.0], ['pull', 1001.5], ['issue', 1031.5], ['deploy', 1041.0]]


def _lines(families):
    return render(families).splitlines()


def test_counts_by_result_and_stage_durations():
    lines = _lines(run.run_families(RESULTS, OUTCOME, MARKS, success=True, finished_at=1050))
    for result, count in (('issued', 1), ('renewed', 1), ('unchanged', 1), ('failed', 1), ('deferred', 1)):
        assert 'autotls_run_certificates{result="%s"} %d' % (result, count) in lines
    assert 'autotls_run_hosts{result="deployed"} 1' in lines and 'autotls_run_hosts{result="failed"} 1' in lines
    assert 'autotls_run_stage_duration_seconds{stage="pull"} 1.5' in lines
    assert 'autotls_run_stage_duration_seconds{stage="issue"} 30' in lines
    assert 'autotls_run_stage_duration_seconds{stage="deploy"} 9.5' in lines
    assert not [line for line in lines if 'stage="start"' in line]
    assert 'autotls_run_duration_seconds 50' in lines
    assert 'autotls_run_last_timestamp_seconds 1050' in lines
    assert 'autotls_run_last_success_timestamp_seconds 1050' in lines and 'autotls_run_success 1' in lines


def test_a_failed_run_keeps_the_last_success_time_out_of_its_push():
    lines = _lines(run.run_families(RESULTS, OUTCOME, [], success=False, finished_at=1050))
    assert 'autotls_run_success 0' in lines
    assert not [line for line in lines if run.LAST_SUCCESS in line]
    assert not [line for line in lines if line.startswith('autotls_run_duration_seconds')]


@pytest.mark.parametrize('marks', [[['start']], [['start', 'noon']], ['start']])
def test_bad_stage_marks_are_refused(marks):
    with pytest.raises(ConfigurationError, match='stages'):
        run.stage_durations(marks)


def test_a_gateway_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(ConfigurationError, match='must not hold a user or password') as caught:
        run.check_url('https://pusher:s3cret@gw.example.com:9091')
    assert 's3cret' not in caught.value.msg and 'https://gw.example.com:9091' in caught.value.msg
    assert run.check_url('https://gw.example.com:9091/') == 'https://gw.example.com:9091'


def test_group_path_encodes_values_with_slashes():
    assert run.grouping_path('autotls', {'inventory': 'prod'}) == '/metrics/job/autotls/inventory/prod'
    encoded = base64.urlsafe_b64encode(b'a/b').decode()
    assert run.grouping_path('autotls', {'path': 'a/b', 'empty': ''}) == \
        '/metrics/job/autotls/empty@base64/=/path@base64/' + encoded
    with pytest.raises(ConfigurationError, match='label name'):
        run.grouping_path('autotls', {'bad-label': 'x'})


class _Gateway(http.server.BaseHTTPRequestHandler):
    def _handle(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        server = self.server
        status = server.answers.pop(0) if server.answers else 200
        server.seen.append((self.command, self.path, self.headers.get('Content-Type'), body.decode(),
                            self.headers.get('Authorization')))
        self.send_response(status)
        if status == 503:
            self.send_header('Retry-After', '0')
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'no')

    do_PUT = do_POST = _handle  # noqa: N815 (http.server's naming)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@pytest.fixture
def gateway():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Gateway)
    server.answers, server.seen = [], []
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    server.url = 'http://127.0.0.1:%d' % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


def test_success_puts_the_group_and_a_failure_posts(gateway):
    push = run.Pushgateway(gateway.url + '/', timeout=5, username='u', password='p4ss')
    url = push.push(run.run_families(RESULTS, OUTCOME, MARKS, True, 1050), grouping={'inventory': 'prod'})
    assert url == gateway.url + '/metrics/job/autotls/inventory/prod'
    method, path, ctype, body, auth = gateway.seen[-1]
    assert (method, path) == ('PUT', '/metrics/job/autotls/inventory/prod')
    assert ctype.startswith('text/plain; version=0.0.4') and auth == 'Basic ' + base64.b64encode(b'u:p4ss').decode()
    assert 'autotls_run_success 1' in body
    push.push(run.run_families(RESULTS, OUTCOME, MARKS, False, 1060), replace=False)
    assert gateway.seen[-1][0] == 'POST' and run.LAST_SUCCESS not in gateway.seen[-1][3]


def test_retries_a_busy_gateway_and_names_a_refusal_without_the_password(gateway):
    gateway.answers[:] = [503, 200]
    push = run.Pushgateway(gateway.url, timeout=5, username='u', password='p4ss', sleep=lambda s: None)
    push.push(run.run_families([], None, [], True, 1))
    assert [s[0] for s in gateway.seen] == ['PUT', 'PUT']
    gateway.answers[:] = [401]
    with pytest.raises(run.PushError, match='HTTP 401.*pushgateway_username') as failure:
        push.push(run.run_families([], None, [], True, 1))
    assert 'p4ss' not in str(failure.value)


def test_an_unreachable_gateway_gives_up_within_the_timeout():
    push = run.Pushgateway('http://127.0.0.1:9', timeout=1, sleep=lambda s: None)
    with pytest.raises(run.PushError, match='127.0.0.1:9.*pushgateway_url'):
        push.push(run.run_families([], None, [], True, 1))


def test_settings_defaults_and_refusals(tmp_path):
    assert metrics_settings(None) == dict(textfile_path=None, mode='0644', push=None)
    settings = metrics_settings({'textfile_dir': '/var/lib/prometheus/node-exporter/', 'mode': '640',
                                 'pushgateway_url': 'http://pg:9091/', 'pushgateway_grouping': {'env': 'qa'}})
    assert settings['textfile_path'] == '/var/lib/prometheus/node-exporter/autotls.prom'
    assert settings['mode'] == '0640'
    assert settings['push']['url'] == 'http://pg:9091' and settings['push']['job'] == 'autotls'
    for bad, message in ((['x'], 'must be a dict'), ({'textfile': '/x'}, "unknown key.*textfile_dir"),
                         ({'textfile_dir': 'rel'}, 'absolute'),
                         ({'textfile_name': 'a.txt', 'textfile_dir': '/x'}, r'\.prom'),
                         ({'textfile_name': 'a/b.prom'}, 'without a directory'),
                         ({'mode': '0666'}, 'other users write'),
                         ({'pushgateway_url': 'pg:9091'}, 'http'),
                         ({'pushgateway_url': 'http://pg', 'pushgateway_grouping': {'job': 'x'}}, 'pushgateway_job'),
                         ({'pushgateway_url': 'http://pg', 'pushgateway_timeout': 0}, 'pushgateway_timeout')):
        with pytest.raises(ConfigurationError, match=message):
            metrics_settings(bad)
    hostvars = {'a': {'autotls_metrics': {'textfile_dir': '/d'}}, 'b': {}, 'c': {'autotls_metrics': {}}}
    assert metrics_hosts(hostvars, ['a', 'b', 'c']) == {'a': {'path': '/d/autotls.prom', 'mode': '0644'}}
    with pytest.raises(ConfigurationError, match='of host b'):
        metrics_hosts({'b': {'autotls_metrics': {'textfile_dir': 'd'}}}, ['b'])
