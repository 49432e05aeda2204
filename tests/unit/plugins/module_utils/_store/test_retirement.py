# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What retires, only from a run that sees the whole inventory, and how it is reported."""

from ansible_collections.autotls.acme.plugins.module_utils._common.awx import job_slice
from ansible_collections.autotls.acme.plugins.module_utils._store.retirement import (
    retirement_outcome,
    retirement_plan,
    retirement_report,
    retirement_scope,
    store_owner,
)

DECLARED = [{'name': 'app1', 'hosts': ['web1']}, {'name': 'web', 'hosts': ['web1', 'web2']}]


def test_what_no_host_declares_but_a_host_or_the_store_holds():
    manifests = {'web2': ['web', 'old'], 'web1': ['app1', 'old', 'gone']}
    plan = retirement_plan(DECLARED, manifests, ['app1', 'web', 'old', 'stored-only', '.hidden'])
    assert plan == [
        {'name': 'gone', 'hosts': ['web1'], 'in_store': False},
        {'name': 'old', 'hosts': ['web1', 'web2'], 'in_store': True},
        {'name': 'stored-only', 'hosts': [], 'in_store': True},
    ]
    assert retirement_plan(DECLARED, {'web1': ['app1']}, ['app1', 'web']) == []


def test_only_a_run_over_every_host_retires():
    assert retirement_scope(['a', 'b'], ['a', 'b']) == (True, '')
    whole, why = retirement_scope(['a'], ['a', 'b'], limit='a')
    assert not whole and why.startswith('the run is limited (--limit a)')
    whole, why = retirement_scope(['a'], ['a', 'b'])
    assert not whole and 'does not target every inventory host (not b)' in why


def test_a_slice_of_a_sliced_awx_job_retires_nothing():
    # In a slice, groups['all'] holds only the slice's hosts: the run looks whole, but is not.
    sliced = job_slice({'awx_job_template_name': 'nightly', 'awx_workflow_job_id': 41,
                        'awx_workflow_job_name': 'nightly', 'awx_job_id': 42})
    whole, why = retirement_scope(['a'], ['a'], job_slice=sliced)
    assert not whole and "one slice of the sliced AWX job template 'nightly'" in why
    unsliced = job_slice({'awx_job_template_name': 'nightly', 'awx_job_id': 42})
    assert retirement_scope(['a'], ['a'], job_slice=unsliced) == (True, '')


def test_the_report_says_where_each_went():
    plan = [{'name': 'old', 'hosts': ['web1'], 'in_store': True}, {'name': 'gone', 'hosts': ['web2'], 'in_store': False}]
    stored = [{'item': plan[0], 'set_aside_to': '/s/retired/old/1f', 'serial': '1f', 'revoked': True,
               'check': {'revoked': True}}]
    assert retirement_report(plan, stored) == [
        'old: was taken off web1; was set aside in /s/retired/old/1f, serial 1f revoked (cessationOfOperation, '
        'confirmed by the CA).',
        'gone: was taken off web2.']
    assert retirement_report(plan[:1], [dict(stored[0], revoked=False, check=None)], check_mode=True) == [
        'old: would be taken off web1; would be set aside in /s/retired/old/1f.']


def test_a_certificate_a_host_keeps_keeps_its_store_copy_and_the_report_says_why():
    plan = [{'name': 'old', 'hosts': ['edge1', 'web1', 'web2', 'web3'], 'in_store': True},
            {'name': 'gone', 'hosts': ['web1'], 'in_store': True}]
    kept = {'name': 'old', 'server': 'haproxy', 'kind': 'haproxy', 'rc': 1, 'error': 'unable to stat'}
    results = {'edge1': {'changed': False, 'retired': [], 'kept': [kept]},
               'web1': {'changed': True, 'retired': ['old', 'gone'], 'kept': []},
               'web2': {'failed': True, 'msg': '/etc/nginx/conf.d/autotls-tls-old.conf is a symbolic link'},
               'web3': {'unreachable': True}}
    outcome = retirement_outcome(plan, results)
    assert [len(entry['kept']) for entry in outcome] == [3, 0]
    assert [entry['name'] for entry in outcome if entry['in_store'] and not entry['kept']] == ['gone']
    assert retirement_report(outcome, [{'item': outcome[1], 'set_aside_to': '/s/retired/gone/2a'}]) == [
        'old: was taken off web1; kept on edge1: the check of server haproxy (kind haproxy) fails without its files, '
        'so everything was put back; kept on web2: taking it off failed: /etc/nginx/conf.d/autotls-tls-old.conf is '
        'a symbolic link; kept on web3: the host was unreachable; the store\'s copy stays until it is off every host.',
        'gone: was taken off web1; was set aside in /s/retired/gone/2a.']


def test_a_host_whose_manifest_was_not_read_keeps_every_store_copy():
    """A host that failed earlier in the run or could not be read may still serve any certificate."""
    plan = [{'name': 'old', 'hosts': ['web1'], 'in_store': True},
            {'name': 'orphan', 'hosts': [], 'in_store': True},
            {'name': 'local', 'hosts': ['web1'], 'in_store': False}]
    results = {'web1': {'changed': True, 'retired': ['old', 'local'], 'kept': []}, 'web2': None, 'web3': None}
    manifests = {'web1': {'names': ['old', 'local']}, 'web2': None,
                 'web3': {'failed': True, 'msg': '/etc/autotls/certs/.autotls-manifest.json is a symbolic link'}}
    outcome = retirement_outcome(plan, results, manifests)
    assert [[why['host'] for why in entry['kept']] for entry in outcome] == [['web2', 'web3'], ['web2', 'web3'], []]
    assert not [entry for entry in outcome if entry['in_store'] and not entry['kept']]
    assert 'the host failed earlier' in outcome[1]['kept'][0]['reason']
    assert 'symbolic link' in outcome[1]['kept'][1]['reason']
    # Every manifest read: the store copies go as before.
    read = {'web1': {'names': ['old']}, 'web2': {'names': []}, 'web3': {'names': []}}
    assert [entry['kept'] for entry in retirement_outcome(plan, results, read)] == [[], [], []]


def test_files_a_host_left_because_they_changed_are_reported():
    plan = [{'name': 'old', 'hosts': ['edge1', 'web1'], 'in_store': True}]
    results = {'edge1': {'changed': True, 'retired': ['old'], 'kept': [],
                         'left': [{'name': 'old', 'path': '/etc/haproxy/certs/old.pem'},
                                  {'name': 'other', 'path': '/etc/haproxy/certs/other.pem'}]},
               'web1': {'changed': True, 'retired': ['old'], 'kept': []}}
    outcome = retirement_outcome(plan, results)
    assert outcome[0]['left'] == [{'host': 'edge1', 'path': '/etc/haproxy/certs/old.pem'}]
    assert outcome[0]['kept'] == []                 # nothing of the store's stays on a host: set aside as before
    assert retirement_report(outcome, [{'item': outcome[0], 'set_aside_to': '/s/retired/old/1f'}]) == [
        'old: was taken off edge1, web1; left on edge1, changed since the collection wrote it: '
        '/etc/haproxy/certs/old.pem; was set aside in /s/retired/old/1f.']


def test_only_this_inventory_s_store_copies_retire_and_unowned_ones_are_named():
    assert store_owner('qa1', 'qa1') == 'ours'
    assert store_owner('qa2', 'qa1') == store_owner('qa2', None) == 'theirs'
    assert store_owner(None, 'qa1') == store_owner(None, None) == 'unrecorded'
    plan = [{'name': 'old', 'hosts': ['web1'], 'in_store': True}, {'name': 'legacy', 'hosts': [], 'in_store': True},
            {'name': 'shop', 'hosts': [], 'in_store': True}, {'name': 'blog', 'hosts': [], 'in_store': True},
            {'name': 'both', 'hosts': ['web1'], 'in_store': True}]
    stored = [{'item': plan[0], 'set_aside_to': '/s/retired/old/1f', 'owner': 'qa1'},
              {'item': plan[1], 'set_aside_to': '/s/retired/legacy/2e', 'owner': None, 'unowned': True},
              {'item': plan[2], 'owner': 'qa2', 'not_ours': True},
              {'item': plan[3], 'owner': 'qa2', 'not_ours': True},
              {'item': plan[4], 'owner': 'qa2', 'not_ours': True}]
    assert retirement_report(plan, stored) == [
        'old: was taken off web1; was set aside in /s/retired/old/1f.',
        'legacy: was set aside in /s/retired/legacy/2e (no owner was recorded with it, so it was taken as this '
        'inventory\'s: set autotls_store_owner where inventories share a store).',
        'both: was taken off web1; the store\'s copy stays: it belongs to qa2 (its autotls_store_owner), another '
        'inventory that shares the store.',
        '2 certificate(s) of the store belong to qa2 (their autotls_store_owner), another inventory that shares the '
        'store: left alone.']
