# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a run did on its hosts, and the summary and totals line the job output ends with."""

from ansible_collections.autotls.acme.plugins.module_utils._notify.run import run_outcome, run_report

RENEWED = dict(name='app1', action='renew', changed=True, not_after='2027-02-20T10:00:00Z', days_left=89.9)
ISSUED = dict(name='api', action='issue', changed=True, days_left=90)
FAILED = dict(name='broken', action='issue', changed=False, failed=True, msg='No Route53 hosted zone contains '
              '_acme-challenge.www.nozone.test')
VALID = dict(name='web', action='none', changed=False, days_left=60)

FAILURE = '__renew_failure'
REACHED = '__renew_reached'


def _outcome(hostvars, active, run_errors=()):
    return run_outcome(hostvars, list(hostvars), active, list(run_errors), FAILURE, REACHED)


def test_deployed_hosts_and_nothing_wrong():
    hostvars = {
        'web1': {REACHED: True, 'autotls_cert_deploy_changed': ['app1', 'web']},
        'web2': {REACHED: True, 'autotls_cert_deploy_changed': []},
        'web3': {REACHED: True},
    }
    outcome = _outcome(hostvars, ['web1', 'web2', 'web3'], ['', None])
    assert outcome == dict(deployed=[dict(host='web1', certificate='app1'), dict(host='web1', certificate='web')],
                           hosts=[], run_errors=[])
    report = run_report([RENEWED, VALID], outcome, title='nightly')
    assert report['failures'] == []
    assert report['lines'][0] == 'nightly'
    assert report['lines'][-1] == report['totals_line'] == \
        'Totals: 0 issued, 1 renewed, 1 unchanged, 0 failed; 1 host deployed, 0 hosts failed.'
    assert 'app1: new expiry 2027-02-20 10:00 UTC, 89 days left; deployed to web1' in report['text']


def test_the_summary_names_the_servers_a_certificate_went_to():
    hostvars = {
        'edge1': {REACHED: True, 'autotls_cert_deploy_changed': ['app1', 'web'],
                  'autotls_cert_deploy_servers': {'nginx': ['app1', 'web'], 'haproxy': ['app1'], 'apache': []}},
        'web1': {REACHED: True, 'autotls_cert_deploy_changed': ['app1']},
    }
    outcome = _outcome(hostvars, ['edge1', 'web1'])
    assert outcome['deployed'] == [dict(host='edge1', certificate='app1', servers=['nginx', 'haproxy']),
                                   dict(host='edge1', certificate='web', servers=['nginx']),
                                   dict(host='web1', certificate='app1')]
    report = run_report([RENEWED, VALID], outcome)
    assert 'app1: new expiry 2027-02-20 10:00 UTC, 89 days left; deployed to edge1 (nginx, haproxy), web1' in \
        report['text']
    assert 'web: to edge1 (nginx)' in report['text']
    assert report['totals_line'].endswith('2 hosts deployed, 0 hosts failed.')


def test_unreachable_failed_and_rolled_back_hosts():
    hostvars = {
        'web1': {REACHED: True, 'autotls_cert_deploy_changed': ['app1']},
        # Never reached: no fact from the always section, not active.
        'web2': {},
        # Its deploy failed and the previous files were put back.
        'web3': {REACHED: True, FAILURE: dict(task='Fail the host, nothing reloaded', controller=False,
                                              msg='nginx -t failed; the previous files are back'),
                 'autotls_cert_deploy_rolled_back': ['app1']},
        # A deploy step failed without a rollback.
        'web4': {REACHED: True, FAILURE: dict(task='Create the certificate directory', controller=False,
                                              msg='Permission denied')},
        # One certificate failed its server's check and was put back; the host's others were deployed and
        # reloaded, then cert_deploy failed the host (deploy isolation): what deploy.yml and the role record.
        'web5': {REACHED: True, 'autotls_cert_deploy_changed': ['app1'], 'autotls_cert_deploy_rolled_back': ['shop'],
                 FAILURE: dict(task='Fail the host, naming the certificates put back and the servers that refused '
                               'them', controller=False, msg='Deploying certificate(s) shop on web5 failed the check '
                               'of server haproxy'),
                 'autotls_cert_deploy_servers': {'nginx': ['app1'], 'haproxy': []}},
        # Failed outside the steps a rescue records (a handler), still reached.
        'web6': {REACHED: True},
    }
    outcome = _outcome(hostvars, ['web1', 'web3', 'web4', 'web5'])
    assert outcome['deployed'] == [dict(host='web1', certificate='app1'),
                                   dict(host='web5', certificate='app1', servers=['nginx'])]
    assert outcome['hosts'] == [
        dict(host='web2', status='unreachable', msg='no connection (see the job output for the SSH error)'),
        dict(host='web3', status='rolled_back', certificates=['app1'],
             msg='step "Fail the host, nothing reloaded" failed: nginx -t failed; the previous files are back'),
        dict(host='web4', status='failed', certificates=[],
             msg='step "Create the certificate directory" failed: Permission denied'),
        dict(host='web5', status='rolled_back', certificates=['shop'],
             msg='step "Fail the host, naming the certificates put back and the servers that refused them" failed: '
                 'Deploying certificate(s) shop on web5 failed the check of server haproxy'),
        dict(host='web6', status='failed', certificates=[], msg='failed (see the job output)'),
    ]
    report = run_report([RENEWED, FAILED], outcome)
    assert report['totals_line'] == 'Totals: 0 issued, 1 renewed, 0 unchanged, 1 failed; 1 host deployed, 5 hosts failed.'
    assert report['failures'][0].startswith('certificate broken: No Route53 hosted zone')
    assert 'host web2: unreachable: no connection' in report['failures'][1]
    assert 'host web3: rolled back (app1): step "Fail the host' in report['failures'][2]
    assert 'Hosts failed:' in report['text'] and '  - web2: unreachable' in report['text']
    assert 'host web5: rolled back (shop)' in report['failures'][4]


def test_a_deploy_failure_fails_the_run_from_what_the_deploy_records():
    """Only the facts cert_deploy and deploy.yml set: the rollback list (no rescue record needed), or the rescue's."""
    rolled_back = {'web1': {REACHED: True, 'autotls_cert_deploy_changed': [], 'autotls_cert_deploy_rolled_back': ['app1']}}
    outcome = _outcome(rolled_back, ['web1'])
    assert outcome['hosts'] == [dict(host='web1', status='rolled_back', certificates=['app1'],
                                     msg='the check of its server refused app1; the previous files are back')]
    report = run_report([RENEWED], outcome)
    assert report['failures'] == ['host web1: rolled back (app1): the check of its server refused app1; the '
                                  'previous files are back']
    assert report['totals_line'].endswith('0 hosts deployed, 1 host failed.')


def test_a_controller_step_is_a_run_failure_reported_once():
    failure = dict(task='Pull the store into the working copy', controller=True,
                   msg='Failed to list s3://b/prod/: AccessDenied')
    hostvars = {'web1': {REACHED: True, FAILURE: failure}, 'web2': {REACHED: True, FAILURE: failure}}
    # The playbook already names the pull; the rescue's record of it adds nothing.
    outcome = _outcome(hostvars, ['web1', 'web2'], ['Could not pull the store: Failed to list s3://b/prod/: AccessDenied'])
    assert outcome == dict(deployed=[], hosts=[],
                           run_errors=['Could not pull the store: Failed to list s3://b/prod/: AccessDenied'])
    declared = dict(task='Gather the certificates the play\'s hosts declare', controller=True,
                    msg="Task failed: Finalization of task args for 'ansible.builtin.set_fact' failed: Error while "
                        "resolving value for '__issue_declared': The filter plugin "
                        "'autotls.acme.declared_certificates' failed: Certificate 'web' is declared twice with "
                        "different settings")
    # Ansible rescues only the host that ran the step; the others just stop (web2), and
    # an unreachable one is still named (web3).
    outcome = _outcome({'web1': {REACHED: True, FAILURE: declared}, 'web2': {REACHED: True}, 'web3': {}},
                       ['web1'])
    assert outcome['run_errors'] == ['Step "Gather the certificates the play\'s hosts declare" failed: '
                                     "Certificate 'web' is declared twice with different settings"]
    assert [(p['host'], p['status']) for p in outcome['hosts']] == [('web3', 'unreachable')]
    report = run_report([], outcome)
    assert report['failures'][0] == outcome['run_errors'][0]
    assert 'Run failed:' in report['text']
    assert report['totals_line'].endswith('1 host failed; 1 run failure.')


def test_without_a_reached_fact_every_host_counts_as_reached():
    outcome = run_outcome({'web1': {}}, ['web1'], [], [], None, None)
    assert outcome['hosts'] == [dict(host='web1', status='failed', certificates=[], msg='failed (see the job output)')]


def test_undefined_host_variables_are_tolerated():
    class Vars(dict):
        def get(self, key, default=None):
            if key == 'autotls_cert_deploy_changed':
                raise RuntimeError('undefined variable in a template')
            return dict.get(self, key, default)
    outcome = run_outcome({'web1': Vars({REACHED: True})}, ['web1'], ['web1'], [], FAILURE, REACHED)
    assert outcome == dict(deployed=[], hosts=[], run_errors=[])
    assert run_report([ISSUED], outcome)['totals_line'].startswith('Totals: 1 issued, 0 renewed')


def test_a_lifetime_the_run_interval_does_not_fit_has_its_own_section():
    results = [{'name': 'app1', 'changed': False, 'action': 'none', 'days_left': 0.6,
                'lifetime_fraction_left': 0.6,
                'schedule': {'advice': 'Certificate app1 lives 24 h ... run at least every 7.9 h'}},
               {'name': 'app2', 'changed': False, 'action': 'none', 'days_left': 80, 'lifetime_fraction_left': 0.9}]
    report = run_report(results, {})
    assert 'Lifetime shorter than the run interval allows:' in report['lines']
    assert '  - app1: Certificate app1 lives 24 h ... run at least every 7.9 h' in report['lines']
    assert not any('app2' in line for line in report['lines'])
    assert report['failures'] == []
