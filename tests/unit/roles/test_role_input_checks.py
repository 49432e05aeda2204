"""The roles refuse bad input before touching anything (run on localhost; the checks are
their first tasks, so nothing is written when they fail)."""

import json

import pytest

from testbed.tls import cert_pem, make_ca


def run_role(run_playbook, role, variables, expect_rc=2):
    book = [{'hosts': 'localhost', 'gather_facts': False,
             'roles': [{'role': 'autotls.acme.' + role}]}]
    return run_playbook(book, extra_vars=variables, expect_rc=expect_rc)


def failure(result):
    assert result.failed, result.stdout
    return json.dumps(result.failed[-1]['result'])


@pytest.mark.parametrize('role', ['cert_deploy', 'nginx_tls'])
@pytest.mark.parametrize('certificates', [
    [{'domains': ['a.example.test']}],                       # no name
    [{'name': '../../etc/passwd', 'domains': ['a.example.test']}],
    [{'name': 'has space', 'domains': ['a.example.test']}],
], ids=['no-name', 'path', 'space'])
def test_certificate_names_must_be_file_names(run_playbook, role, certificates):
    result = run_role(run_playbook, role, {'autotls_host_certificates': certificates})
    assert "letters, digits, '.', '_' and '-'" in failure(result)
    assert result.stats['localhost']['changed'] == 0


def test_cert_deploy_missing_setting_is_checked(run_playbook):
    # The argument spec catches it before the role's own tasks run.
    result = run_role(run_playbook, 'cert_deploy', {'autotls_cert_deploy_missing': 'ignore'})
    assert 'autotls_cert_deploy_missing' in failure(result)


@pytest.fixture
def two_roots_pem():
    return (cert_pem(make_ca('root one')[0]) + cert_pem(make_ca('root two')[0])).decode()


@pytest.mark.parametrize('root, expected', [
    ({'name': 'bundle', 'pem': 'TWO'}, 'exactly one PEM certificate'),
    ({'name': 'nopem'}, 'exactly one PEM certificate'),
    ({'name': 'bad/name', 'pem': 'ONE'}, "letters, digits, '.', '_'"),
], ids=['bundle', 'no-pem', 'bad-name'])
def test_ca_roots_are_checked(run_playbook, two_roots_pem, root, expected):
    pem = {'TWO': two_roots_pem, 'ONE': two_roots_pem.split('-----END CERTIFICATE-----')[0]
           + '-----END CERTIFICATE-----\n'}
    if 'pem' in root:
        root = dict(root, pem=pem[root['pem']])
    result = run_role(run_playbook, 'ca_trust', {'autotls_ca_roots': [root]})
    assert expected in failure(result)
    assert result.stats['localhost']['changed'] == 0


def test_ca_root_without_pem_can_be_removed_by_name(run_playbook, tmp_path):
    """state: absent needs only the name (the check passes; stopped right after it)."""
    result = run_role(run_playbook, 'ca_trust', {
        'autotls_ca_roots': [{'name': 'gone', 'state': 'absent'}],
        'autotls_ca_trust_java': 'maybe',
        # Belt and braces: were the role to go on, it would work in a scratch directory,
        # never in this machine's trust store (extra vars beat the OS vars files).
        '__ca_trust_dir': str(tmp_path),
        '__ca_trust_update_command': ['/bin/true']})
    # Past the root check, stopped by the next one (the Java setting).
    assert 'autotls_ca_trust_java must be auto, true or false' in failure(result)
