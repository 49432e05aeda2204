# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What operators see, for real: node_exporter's textfile collector inside a test host and
a Pushgateway on loopback serve the metrics the playbooks wrote and pushed (read back over
HTTP), and check.yml's report, published to the S3 store (moto), renders in headless
Chromium with its rows and timeline.

One scene, several runs: onboard (DNS-01 through Route53 in moto, Pebble), then renew.yml
with the S3 store, forcing one certificate and not deploying it (the host keeps serving the
old one: "served differs from store"), then check.yml publishing its report.
"""

import html
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest
from cryptography import x509

from testbed.fixtures_hosts import write_inventory
from testbed.notify_peers import WebhookReceiver
from testbed.ports import free_tcp_port
from testbed.processes import start_process

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ONBOARD = os.path.join(REPO, 'playbooks', 'onboard.yml')
RENEW = os.path.join(REPO, 'playbooks', 'renew.yml')
CHECK = os.path.join(REPO, 'playbooks', 'check.yml')
TEXTFILE_DIR = '/var/lib/prometheus/node-exporter'
NSENTER = '/usr/bin/nsenter'
CHROMIUM = '/usr/bin/chromium'


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode('utf-8')


def _samples(text, name):
    """{frozenset(labels): value} of metric ``name`` in exposition ``text``."""
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(r'%s(?:\{(.*)\})? (\S+)' % re.escape(name), line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ''))
            found[labels] = float(match.group(2))
    return found


def _one(text, name, **labels):
    wanted = set(labels.items())
    values = [v for k, v in _samples(text, name).items() if wanted <= set(k)]
    assert len(values) == 1, (name, labels, _samples(text, name))
    return values[0]


def _stored(store, name):
    with open(os.path.join(store, 'certs', name, 'cert.pem'), 'rb') as handle:
        return x509.load_pem_x509_certificate(handle.read())


@pytest.fixture
def pushgateway(tmp_path):
    port = free_tcp_port('127.0.0.1')
    proc = start_process(['/usr/bin/prometheus-pushgateway', '--web.listen-address=127.0.0.1:%d' % port],
                         str(tmp_path / 'logs'), name='pushgateway')
    url = 'http://127.0.0.1:%d' % port
    try:
        proc.wait_ready(lambda: _get(url + '/-/ready') is not None, 20)
        yield url
    finally:
        proc.stop()


@pytest.fixture
def s3_bucket(testbed):
    client = testbed.moto.client('s3')
    client.create_bucket(Bucket='autotls-observe')
    yield client, 'autotls-observe'
    for item in client.list_objects_v2(Bucket='autotls-observe').get('Contents', []):
        client.delete_object(Bucket='autotls-observe', Key=item['Key'])
    client.delete_bucket(Bucket='autotls-observe')


@pytest.mark.timeout(900)
def test_metrics_reach_node_exporter_and_the_pushgateway_and_the_report_opens(
        testbed, test_hosts, host_dns, run_playbook, tmp_path, pushgateway, s3_bucket):
    s3, bucket = s3_bucket
    app1 = test_hosts['app1']
    app1.reset()
    shop = host_dns.add(app1, 'shop.qa1.example.test')
    store = str(tmp_path / 'store')
    declared = [{'name': 'app1', 'domains': [app1.fqdn], 'challenge': 'dns-01'},
                {'name': 'shop', 'domains': [shop], 'challenge': 'dns-01'}]
    common = {
        'autotls_acme_directory': testbed.pebble.directory_url, 'autotls_acme_ca_bundle': testbed.pebble.ca_bundle,
        'autotls_terms_agreed': True,
        'autotls_route53': {'endpoint_url': testbed.moto.endpoint_url},
        'autotls_dns_servers': [testbed.dns.address],
        'autotls_metrics': {'textfile_dir': TEXTFILE_DIR, 'pushgateway_url': pushgateway,
                            'pushgateway_grouping': {'inventory': 'qa1'}},
    }

    def inventory(s3_store, **extra):
        all_vars = dict(common, **extra)
        all_vars['autotls_store'] = ({'type': 's3', 'bucket': bucket, 'prefix': 'qa1/', 'path': store,
                                      'endpoint_url': testbed.moto.endpoint_url, 'region': 'us-east-1'}
                                     if s3_store else {'type': 'local', 'path': store})
        return write_inventory(tmp_path / 'inventory.yml', hosts=[app1], group_vars={'all': all_vars}, host_vars={
            app1: {'autotls_nginx_listen_address': app1.address, 'autotls_nginx_ipv6': False,
                   'autotls_host_certificates': declared}})

    run_playbook(ONBOARD, inventory=inventory(False), connection=None)
    first_shop = '%x' % _stored(store, 'shop').serial_number

    # The nightly run with the S3 store: shop is renewed into the store but not deployed, so
    # app1 keeps serving the old shop certificate.
    renewed = run_playbook(RENEW, inventory=inventory(True, autotls_force=['shop'], autotls_deploy=False),
                           connection=None)
    assert renewed.task("Push the run's metrics to the Pushgateway")['result']['url'] == \
        pushgateway + '/metrics/job/autotls/inventory/qa1'
    written = renewed.task('Write the metrics file for node_exporter', app1.name)
    assert written['changed'] and written['result']['path'] == TEXTFILE_DIR + '/autotls.prom'
    app1_cert, shop_cert = _stored(store, 'app1'), _stored(store, 'shop')
    assert '%x' % shop_cert.serial_number != first_shop

    # Pushgateway: what the run did, read back over HTTP.
    pushed = _get(pushgateway + '/metrics')
    group = dict(job='autotls', inventory='qa1')
    assert _one(pushed, 'autotls_run_success', **group) == 1
    assert _one(pushed, 'autotls_run_certificates', result='renewed', **group) == 1
    assert _one(pushed, 'autotls_run_certificates', result='unchanged', **group) == 1
    assert _one(pushed, 'autotls_run_certificates', result='failed', **group) == 0
    for stage in ('pull', 'issue', 'push'):
        assert _one(pushed, 'autotls_run_stage_duration_seconds', stage=stage, **group) >= 0
    assert _one(pushed, 'autotls_run_duration_seconds', **group) > 0
    assert _one(pushed, 'autotls_run_last_success_timestamp_seconds', **group) == \
        _one(pushed, 'autotls_run_last_timestamp_seconds', **group)

    # node_exporter with the textfile collector, inside the host, reads the file renew.yml wrote there.
    port = free_tcp_port(app1.address)
    exporter = start_process([NSENTER, '--target', str(app1.holder_pid), '--mount', '--uts', '--',
                              '/usr/bin/prometheus-node-exporter', '--web.listen-address=%s:%d' % (app1.address, port),
                              '--collector.disable-defaults', '--collector.textfile',
                              '--collector.textfile.directory=' + TEXTFILE_DIR],
                             str(tmp_path / 'logs'), name='node-exporter')
    try:
        url = 'http://%s:%d/metrics' % (app1.address, port)
        exporter.wait_ready(lambda: 'autotls_certificate_info' in _get(url), 20)
        scraped = _get(url)
    finally:
        exporter.stop()
    assert _one(scraped, 'node_textfile_scrape_error') == 0
    on_app1 = dict(certificate='app1', server_name=app1.fqdn, port='443')
    on_shop = dict(certificate='shop', server_name=shop, port='443')
    assert _one(scraped, 'autotls_certificate_endpoint_up', **on_app1) == 1
    assert _one(scraped, 'autotls_certificate_not_after_timestamp_seconds', **on_app1) == \
        app1_cert.not_valid_after_utc.timestamp()
    assert _one(scraped, 'autotls_certificate_not_before_timestamp_seconds', **on_app1) == \
        app1_cert.not_valid_before_utc.timestamp()
    assert _one(scraped, 'autotls_certificate_served_matches_store', **on_app1) == 1
    assert _one(scraped, 'autotls_certificate_served_matches_store', **on_shop) == 0
    assert _one(scraped, 'autotls_certificate_info', serial=first_shop,
                store_serial='%x' % shop_cert.serial_number, **on_shop) == 1
    assert _one(scraped, 'autotls_certificate_info', serial='%x' % app1_cert.serial_number, **on_app1) == 1

    # check.yml with the S3 store: the report goes to the bucket's report/, the Slack summary
    # carries a presigned link to it, and the link fetches exactly the page written locally.
    report_path = str(tmp_path / 'report.html')
    with WebhookReceiver() as slack:
        checked = run_playbook(CHECK, inventory=inventory(
            True, autotls_report_publish=True, autotls_report_path=report_path,
            autotls_ca_root_pem=testbed.pebble.roots_pem(),
            autotls_notify={'slack_webhook_url': slack.url, 'slack_allow_http': True}), connection=None)
    published = checked.task('Note where the report was published')['result']['ansible_facts']['autotls_check_published']
    assert published['key'].startswith('qa1/report/check-') and published['latest_key'] == 'qa1/report/latest.html'
    keys = {item['Key'] for item in s3.list_objects_v2(Bucket=bucket, Prefix='qa1/report/')['Contents']}
    assert keys == {published['key'], published['latest_key']}
    assert len(slack.accepted) == 1
    posted = slack.accepted[0]['body']
    link = re.search(r'Report: (\S+)', posted['text']).group(1).replace('&amp;', '&')   # Slack's escaping
    assert link.split('?', 1)[0].endswith('/' + published['key'])
    assert 'X-Amz-Algorithm=AWS4-HMAC-SHA256' in link and 'X-Amz-Expires=604800' in link   # SigV4
    # The link is a bearer link for 7 days: only the Slack message carries it, not the job's output or the
    # results its callbacks (AWX's job events) receive.
    signature = re.search(r'X-Amz-Signature=([0-9a-f]+)', link).group(1)
    assert signature not in checked.stdout + checked.stderr
    assert signature not in json.dumps(checked.results)
    assert any('Open the report' in json_block for json_block in map(str, posted['blocks']))
    with open(report_path, encoding='utf-8') as handle:
        page = handle.read()
    assert _get(link) == page
    # Without the signature the bucket does not hand the report out.
    with pytest.raises(urllib.error.HTTPError):
        _get(link.split('?', 1)[0])

    # A real browser: the page renders, its script ran (data-ready), the rows and the
    # timeline are in the DOM, and a filter in the address (host=app1) hides the store rows.
    dom = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=3000',
                          '--dump-dom', 'file://%s#host=%s' % (report_path, app1.name)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-3000:]
    tree = dom.stdout
    assert re.search(r'<body[^>]* data-ready="1"', tree), tree[:2000]
    table_rows = re.findall(r'<tr class="(\w+)" data-status="(\w+)" data-row="\d+" data-host="([^"]+)"[^>]*?( hidden="")?>',
                            tree)
    assert sorted((host, bool(hidden)) for _colour, _status, host, hidden in table_rows) == [
        ('(store)', True), ('(store)', True), (app1.name, False), (app1.name, False)], table_rows
    assert len(re.findall(r'<g class="bar" data-row="\d+"', tree)) == 4
    assert tree.count('<rect class="window"') == 4 and '<line class="today"' in tree
    assert '2 of 4 rows shown' in tree
    assert html.escape(first_shop) in tree
    shot = tmp_path / 'report.png'
    taken = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
                            '--window-size=1280,1400', '--screenshot=%s' % shot, 'file://%s' % report_path],
                           capture_output=True, text=True, timeout=120, check=False)
    assert taken.returncode == 0 and shot.stat().st_size > 10000, taken.stderr[-3000:]
    with open(str(shot), 'rb') as handle:
        assert handle.read(8) == b'\x89PNG\r\n\x1a\n'
