# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.route53_txt through ansible-playbook, against the test bed's moto server.

Credentials come from the environment (the dummy AWS_* keys of the test bed), so the
module's default credential chain is what is exercised; the endpoint is an option.
"""

import uuid

import pytest

pytestmark = pytest.mark.integration

PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Manage TXT values
      autotls.acme.route53_txt:
        name: "{{ record_name }}"
        values: "{{ txt_values }}"
        state: "{{ txt_state }}"
        ttl: 60
        aws_endpoint_url: "{{ endpoint }}"
        wait_timeout: 30
'''

NO_ZONE_PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Name in no hosted zone
      autotls.acme.route53_txt:
        name: _acme-challenge.nowhere.invalid
        values: [x]
        aws_endpoint_url: "{{ endpoint }}"
'''


@pytest.fixture
def zone(route53):
    name = 'r53txt-%s.example.test' % uuid.uuid4().hex[:8]
    zone_id = route53.create_zone(name)
    return name, zone_id


def test_route53_txt_present_idempotent_check_absent(route53, zone, run_playbook):
    zone_name, zone_id = zone
    record = '_acme-challenge.' + zone_name
    route53.upsert_txt(zone_id, record, ['unrelated "value"'], ttl=60)

    def run(state, values, check=False, diff=False, **kwargs):
        extra = dict(record_name=record, txt_values=values, txt_state=state,
                     endpoint=route53.moto.endpoint_url)
        result = run_playbook(PLAYBOOK, extra, check=check, args=('--diff',) if diff else (), **kwargs)
        return result.task('Manage TXT values')

    # Check mode: reports the change, writes nothing, shows the diff.
    checked = run('present', ['tok-a', 'tok-b'], check=True, diff=True)
    assert checked['changed'] is True
    assert route53.txt_values(record) == {'unrelated "value"'}
    assert sorted(checked['result']['record']['values']) == ['tok-a', 'tok-b', 'unrelated "value"']
    assert checked['result']['change_id'] is None
    diff = checked['result']['diff']
    assert diff['before']['values'] == ['unrelated "value"']
    assert diff['after']['values'] == ['tok-a', 'tok-b', 'unrelated "value"']

    # present merges with what is there.
    added = run('present', ['tok-a', 'tok-b'])
    assert added['changed'] is True
    assert added['result']['zone_id'] == zone_id.rsplit('/', 1)[-1]
    assert added['result']['change_id']
    assert added['result']['record']['ttl'] == 60
    assert route53.txt_values(record) == {'unrelated "value"', 'tok-a', 'tok-b'}

    # A second identical run changes nothing.
    again = run('present', ['tok-a', 'tok-b'])
    assert again['changed'] is False
    assert again['result']['change_id'] is None

    # Check mode of absent: nothing removed yet.
    checked = run('absent', ['tok-a', 'tok-b'], check=True)
    assert checked['changed'] is True
    assert route53.txt_values(record) == {'unrelated "value"', 'tok-a', 'tok-b'}

    # absent removes exactly the given values; the unrelated one stays.
    removed = run('absent', ['tok-a', 'tok-b'], diff=True)
    assert removed['changed'] is True
    assert removed['result']['record']['values'] == ['unrelated "value"']
    assert route53.txt_values(record) == {'unrelated "value"'}
    assert run('absent', ['tok-a', 'tok-b'])['changed'] is False

    # Removing the last value deletes the record set.
    last = run('absent', ['unrelated "value"'])
    assert last['changed'] is True
    assert last['result']['record'] == {'name': record, 'type': 'TXT', 'ttl': None, 'values': []}
    assert not [r for r in route53.record_sets(zone_id) if r['Type'] == 'TXT']


def test_route53_txt_without_zone_fails_clearly(route53, zone, run_playbook):
    result = run_playbook(NO_ZONE_PLAYBOOK, dict(endpoint=route53.moto.endpoint_url), expect_rc=2)
    failed = result.task('Name in no hosted zone')
    assert failed['failed']
    msg = failed['result']['msg']
    assert msg.startswith('No Route53 hosted zone contains _acme-challenge.nowhere.invalid')
    assert 'create one or set zone_id' in msg
    assert zone[0] in msg


@pytest.mark.parametrize('option,value,message', [
    ('ttl', 0, 'ttl must be between 1 and 2147483647 seconds, got 0'),
    ('wait_timeout', -1, 'wait_timeout must be at least 1 seconds, got -1'),
])
def test_route53_txt_refuses_numbers_out_of_range_naming_the_option(
        route53, zone, run_playbook, option, value, message):
    zone_name, _zone_id = zone
    record = '_acme-challenge.' + zone_name
    playbook = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
        'name': 'Out of range', 'autotls.acme.route53_txt': {
            'name': record, 'values': ['v'], 'aws_endpoint_url': route53.moto.endpoint_url, option: value}}]}]
    result = run_playbook(playbook, expect_rc=2).task('Out of range')
    assert result['result']['msg'] == message
    assert route53.txt_values(record) == set()
