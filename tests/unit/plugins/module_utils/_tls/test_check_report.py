# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What check.yml and the drift repair look at, and how they report it (no network)."""

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._tls import check_report as report

HOSTVARS = {
    'web1': {'ansible_host': '10.0.0.11'},
    'web2': {'ansible_host': '10.0.0.12', 'autotls_tls_port': '8443'},
    'web3': {},
}
DECLARED = [
    {'name': 'app1', 'domains': ['app1.example.test'], 'hosts': ['web1', 'web2']},
    {'name': 'qa1', 'domains': ['*.qa1.example.test'], 'hosts': ['web3']},
]


def _result(status, **extra):
    base = dict(status=status, days_left=None, not_after=None, issuer=None, serial=None, domains=None,
                chain_verified=None, chain_error=None, key_error=None, error=None, due_reason=None,
                server_name=None, reachable=None)
    base.update(extra)
    return base


def test_targets_store_files_with_keys_first_then_each_serving_host():
    targets = report.check_targets(DECLARED, HOSTVARS, '/srv/autotls/')
    assert [(t['certificate'], t['host'], t['source']) for t in targets] == [
        ('app1', '(store)', 'store'), ('qa1', '(store)', 'store'),
        ('app1', 'web1', 'live'), ('app1', 'web2', 'live'), ('qa1', 'web3', 'live')]
    assert targets[0]['path'] == '/srv/autotls/certs/app1/fullchain.pem'
    assert targets[0]['key_path'] == '/srv/autotls/certs/app1/privkey.pem'
    assert targets[3]['endpoint'] == dict(host='10.0.0.12', port=8443, server_name='app1.example.test',
                                          name='app1@web2')
    assert targets[3]['where'] == '10.0.0.12:8443 (SNI app1.example.test)'
    # A wildcard-only certificate is asked for a name its wildcard covers; no ansible_host: the name.
    assert targets[4]['endpoint'] == dict(host='web3', port=443, server_name='www.qa1.example.test',
                                          name='qa1@web3')
    with pytest.raises(ConfigurationError, match='autotls_tls_port of host web1 must be a port number'):
        report.check_targets(DECLARED, dict(HOSTVARS, web1={'autotls_tls_port': 'https'}), '/s')
    with pytest.raises(ConfigurationError, match='without domains'):
        report.check_targets([{'name': 'x', 'domains': [], 'hosts': []}], HOSTVARS, '/s')


@pytest.mark.parametrize('result, colour, detail', [
    (_result('ok', days_left=60.0), 'green', ''),
    (_result('ok', days_left=3.25), 'yellow', ''),
    (_result('due', days_left=20.0, due_reason='due since 2027-01-01'), 'orange', 'due since 2027-01-01'),
    (_result('missing', error='/s/certs/a/fullchain.pem: No such file'), 'red', '/s/certs/a/fullchain.pem: No such file'),
    (_result('unreachable', error='10.0.0.1:443: refused'), 'red', '10.0.0.1:443: refused'),
    (_result('expired', days_left=-1.0), 'red', ''),
    (_result('key_mismatch', key_error='the private key does not belong'), 'red', 'the private key does not belong'),
    (_result('name_mismatch', domains=['a.test', 'b.test'], server_name='c.test'), 'red', 'serves a.test, b.test, not c.test'),
    (_result('chain_invalid', chain_error='no path'), 'red', 'no path'),
    (_result('unverified', chain_error='no roots given'), 'red', 'no roots given'),
    (_result('invalid', error='no PEM certificate found'), 'red', 'no PEM certificate found'),
])
def test_each_status_gets_its_colour_and_detail(result, colour, detail):
    target = dict(certificate='a', host='(store)', source='store', where='/s/certs/a/fullchain.pem')
    row = report.check_rows([result], [target], 14)[0]
    assert (row['colour'], row['detail']) == (colour, detail)


def test_report_rows_table_counts_and_problems():
    targets = report.check_targets(DECLARED, HOSTVARS, '/s')
    results = [
        _result('ok', days_left=60.04, not_after='2027-02-01T10:00:00Z', issuer='Test CA', serial='ab'),
        _result('missing', error='/s/certs/qa1/fullchain.pem: No such file'),
        _result('ok', days_left=60.0, issuer='Test CA'),
        _result('unreachable', error='10.0.0.12:8443: refused'),
        _result('due', days_left=10.0, due_reason='due'),
    ]
    summary = dict(ok=2, missing=1, unreachable=1, due=1, total=5)
    out = report.check_report(results, targets, summary, 14, '/s/report.html')
    assert [(r['certificate'], r['host'], r['status']) for r in out['rows']] == [
        ('app1', '(store)', 'ok'), ('app1', 'web1', 'ok'), ('app1', 'web2', 'unreachable'),
        ('qa1', '(store)', 'missing'), ('qa1', 'web3', 'due')]
    first = out['rows'][0]
    assert first['days_left'] == '60.0' and first['not_after'] == '2027-02-01 10:00:00 UTC' and first['serial'] == 'ab'
    assert out['rows'][3]['days_left'] == '-' and out['rows'][3]['issuer'] == '-'
    lines = out['lines']
    assert lines[0].split() == ['CERTIFICATE', 'HOST', 'SOURCE', 'DAYS', 'LEFT', 'NOT', 'AFTER', 'ISSUER', 'STATUS']
    column = lines[0].index('STATUS')
    assert [line[column:] for line in lines[1:6]] == ['ok', 'ok', 'unreachable', 'missing', 'due']
    assert lines[-1] == '5 checked - missing: 1, unreachable: 1, due: 1, ok: 2; report: /s/report.html'
    assert out['problems'] == [
        'app1 on web2 (10.0.0.12:8443 (SNI app1.example.test)): unreachable - 10.0.0.12:8443: refused',
        'qa1 on (store) (/s/certs/qa1/fullchain.pem): missing - /s/certs/qa1/fullchain.pem: No such file']
    assert out['statuses'][0] == 'missing' and out['statuses'][-1] == 'ok' and 'unverified' in out['statuses']
    assert report.check_report([], [], {'total': 0})['lines'][-1] == '0 checked'
    with pytest.raises(ConfigurationError, match='1 results for 5 targets'):
        report.check_report(results[:1], targets, summary)


def test_drift_targets_and_drifted_hosts():
    results = [
        dict(name='app1', domains=['app1.example.test'], serial='AB01', hosts=['web1', 'web2']),
        dict(name='qa1', domains=['*.qa1.example.test', 'qa1.example.test'], serial='cd02', hosts=['web3']),
        dict(name='broken', domains=['b.test'], failed=True, hosts=['web1']),
        dict(name='none-yet', domains=['n.test'], hosts=['web1']),
    ]
    drift = report.drift_targets(results, HOSTVARS)
    assert drift['endpoints'] == [
        dict(host='10.0.0.11', port=443, server_name='app1.example.test', name='app1@web1'),
        dict(host='10.0.0.12', port=8443, server_name='app1.example.test', name='app1@web2'),
        dict(host='web3', port=443, server_name='qa1.example.test', name='qa1@web3')]
    nginx = dict(server='nginx', kind='nginx')
    assert drift['expected'] == [dict(host='web1', certificate='app1', serial='AB01', **nginx),
                                 dict(host='web2', certificate='app1', serial='AB01', **nginx),
                                 dict(host='web3', certificate='qa1', serial='cd02', **nginx)]
    served = [dict(reachable=True, serial='ab01'),      # the same serial, other case
              dict(reachable=True, serial='99ff'),      # an old certificate still served
              dict(reachable=False, serial=None)]       # nothing to reload there
    assert report.drifted(served, drift['expected']) == [
        dict(host='web2', certificate='app1', served_serial='99ff', stored_serial='AB01', **nginx)]
    assert report.drifted(served, drift['expected'], 'web1') == []
    assert report.drifted(served, drift['expected'], 'web2')[0]['certificate'] == 'app1'
    with pytest.raises(ConfigurationError, match='2 results for 3 endpoints'):
        report.drifted(served[:2], drift['expected'])


def test_a_host_with_several_servers_is_looked_at_on_each_and_drift_names_the_server():
    hostvars = {'edge1': {'ansible_host': '10.0.0.21',
                          'autotls_servers': ['nginx', {'kind': 'haproxy', 'port': 8443},
                                              {'kind': 'custom', 'name': 'mx', 'files': []}]}}
    results = [dict(name='app1', domains=['app1.example.test'], serial='AB01', hosts=['edge1'])]
    drift = report.drift_targets(results, hostvars)
    assert [(e['port'], e['name']) for e in drift['endpoints']] == [(443, 'app1@edge1 (nginx)'),
                                                                    (8443, 'app1@edge1 (haproxy)')]
    served = [dict(reachable=True, serial='AB01'), dict(reachable=True, serial='77')]
    assert report.drifted(served, drift['expected'], 'edge1') == [
        dict(host='edge1', certificate='app1', served_serial='77', stored_serial='AB01', server='haproxy',
             kind='haproxy')]
    targets = report.check_targets([dict(name='app1', domains=['app1.example.test'], hosts=['edge1'])], hostvars,
                                   '/s')
    assert [(t['where'], t.get('server')) for t in targets if t['source'] == 'live'] == [
        ('10.0.0.21:443 (SNI app1.example.test, nginx)', 'nginx'),
        ('10.0.0.21:8443 (SNI app1.example.test, haproxy)', 'haproxy')]
    with pytest.raises(ConfigurationError, match="unknown server kind 'ngnix'"):
        report.drift_targets(results, {'edge1': {'autotls_servers': ['ngnix']}})


def test_a_lifetime_the_run_interval_does_not_fit_is_listed_once_and_fails_nothing():
    targets = report.check_targets(DECLARED[:1], HOSTVARS, '/srv/autotls')
    advice = {'advice': 'Certificate lives 24 h ... run at least every 7.9 h'}
    results = [_result('ok', schedule=advice), _result('ok', schedule=advice), _result('ok')]
    built = report.check_report(results, targets, {'ok': 3, 'total': 3})
    assert built['schedule'] == [{'certificate': 'app1', 'advice': advice['advice']}]
    assert built['lines'][-3:-1] == ['Lifetime shorter than the run interval allows:',
                                     '  - app1: ' + advice['advice']]
    assert built['problems'] == []
    fits = report.check_report([_result('ok')] * 3, targets, {'ok': 3, 'total': 3})
    assert fits['schedule'] == [] and not any('run interval' in line for line in fits['lines'])


def test_served_certificates_pair_each_endpoint_of_the_host_with_the_store_serial():
    targets = report.check_targets(DECLARED, HOSTVARS, '/srv/autotls')
    facts = dict(issuer='CA', not_before='2027-01-01T00:00:00Z', not_after='2027-04-01T00:00:00Z',
                 renew_at='2027-03-02T00:00:00Z')
    results = [_result('ok', serial='aa', **facts), _result('missing'),
               _result('ok', serial='bb', reachable=True, **facts),          # app1 on web1: an old one
               _result('unreachable', reachable=False),                      # app1 on web2
               _result('ok', serial='cc', reachable=True, **facts)]          # qa1 on web3
    assert report.served_certificates(results, targets, 'web1') == [dict(
        certificate='app1', server_name='app1.example.test', port=443, reachable=True, store_serial='aa',
        serial='bb', **facts)]
    assert report.served_certificates(results, targets, 'web2') == [dict(
        certificate='app1', server_name='app1.example.test', port=8443, reachable=False, store_serial='aa')]
    served = report.served_certificates(results, targets, 'web3')
    assert served[0]['store_serial'] == '' and served[0]['server_name'] == 'www.qa1.example.test'
    with pytest.raises(ConfigurationError, match='2 results for 5 targets'):
        report.served_certificates(results[:2], targets, 'web1')


def test_stored_certificates_pair_declarations_with_the_stores_serials():
    declared = [dict(name='app1', domains=['app1.example.test'], hosts=['web1'], owner='root'),
                dict(name='gone', domains=['g.example.test'], hosts=['web2']),
                dict(name='qa1', domains=['*.qa1.example.test'], hosts=['web3'])]
    stored = [dict(status='ok', serial='AB01'), dict(status='missing', serial=None), dict(status='due', serial='cd02')]
    found = report.stored_certificates(declared, stored)
    assert found == [dict(name='app1', domains=['app1.example.test'], hosts=['web1'], serial='AB01'),
                     dict(name='qa1', domains=['*.qa1.example.test'], hosts=['web3'], serial='cd02')]
    assert [e['name'] for e in report.drift_targets(found, HOSTVARS)['endpoints']] == ['app1@web1', 'qa1@web3']
    with pytest.raises(ConfigurationError, match='2 results for 3 certificates'):
        report.stored_certificates(declared, stored[:2])


def test_one_walk_gives_check_and_drift_repair_the_same_endpoints():
    """check.yml's live targets and the drift repair's endpoints come from one walk: same endpoints, same order."""
    hostvars = dict(HOSTVARS, edge1={'ansible_host': '10.0.0.21',
                                     'autotls_servers': ['nginx', {'kind': 'haproxy', 'port': 8443}]})
    declared = DECLARED + [dict(name='shop', domains=['shop.example.test'], hosts=['edge1', 'web1'])]
    walked = list(report.served_endpoints(declared, hostvars))
    assert [(cert['name'], host, server['name'], several) for cert, host, server, _endpoint, several in walked] == [
        ('app1', 'web1', 'nginx', False), ('app1', 'web2', 'nginx', False), ('qa1', 'web3', 'nginx', False),
        ('shop', 'edge1', 'nginx', True), ('shop', 'edge1', 'haproxy', True), ('shop', 'web1', 'nginx', False)]
    live = [t['endpoint'] for t in report.check_targets(declared, hostvars, '/s') if t['source'] == 'live']
    stored = report.stored_certificates(declared, [dict(serial='%02x' % n) for n in range(len(declared))])
    assert report.drift_targets(stored, hostvars)['endpoints'] == live == [endpoint for *_rest, endpoint, _s in walked]
