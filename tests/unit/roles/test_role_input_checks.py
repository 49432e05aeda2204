# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles refuse bad input before touching anything (run on localhost; the checks are
their first tasks, so nothing is written when they fail).

Most cases share one ansible-playbook run per role: each case is an inventory host of its
own (a local alias named after the case) with the case's variables as host variables, so
the role's checks run for every case at once and each host fails, or not, on its own. A
case's test reads its own host's results (its last failure, its changed count)."""

import json
import re
import os

import pytest

from testbed.fixtures import ansible_environment, run_ansible_playbook
from testbed.tls import cert_pem, make_ca

# role -> {host alias: variables}; filled below, next to the tests that read them.
CASES = {'cert_deploy': {}, 'nginx_tls': {}, 'ca_trust': {}}
# The tests of the shared runs go to one pytest-xdist worker (--dist loadgroup): each
# worker would otherwise make every shared run for a part of its cases.
SHARED_RUN = pytest.mark.xdist_group('role_input_checks')


def add_case(role, name, variables):
    """Register a case of the role's shared run; returns its host alias."""
    host = '%s-%s' % (role, name)
    assert host not in CASES[role], host
    CASES[role][host] = variables
    return host


def add_cases(roles, prefix, variables_by_name):
    """add_case for each role and each {name: variables} (named prefix-name)."""
    for role in roles:
        for name, variables in variables_by_name.items():
            add_case(role, prefix + name, variables)


def run_role(run_playbook, role, variables, expect_rc=2):
    book = [{'hosts': 'localhost', 'gather_facts': False,
             'roles': [{'role': 'autotls.acme.' + role}]}]
    return run_playbook(book, extra_vars=variables, expect_rc=expect_rc)


@pytest.fixture(scope='module')
def two_roots_pem():
    return (cert_pem(make_ca('root one')[0]) + cert_pem(make_ca('root two')[0])).decode()


@pytest.fixture(scope='module')
def checked(tmp_path_factory, two_roots_pem):
    """checked(role, host) -> (PlaybookResult of the role's shared run, host): the role is
    run once (per test process) on every case host registered for it."""
    pem = {'TWO': two_roots_pem, 'ONE': two_roots_pem.split('-----END CERTIFICATE-----')[0]
           + '-----END CERTIFICATE-----\n'}
    runs = {}

    def resolve(variables):
        roots = variables.get('autotls_ca_roots')
        if roots:
            variables = dict(variables, autotls_ca_roots=[
                dict(root, pem=pem[root['pem']]) if 'pem' in root else root for root in roots])
        return variables

    def get(role, host):
        if role not in runs:
            workdir = tmp_path_factory.mktemp('role-%s' % role)
            hosts = {alias: dict(resolve(variables), ansible_connection='local')
                     for alias, variables in CASES[role].items()}
            inventory = workdir / 'inventory.json'
            inventory.write_text(json.dumps({'all': {'hosts': hosts}}))
            book = [{'hosts': 'all', 'gather_facts': False, 'roles': [{'role': 'autotls.acme.' + role}]}]
            runs[role] = run_ansible_playbook(book, str(workdir / 'run'), expect_rc=2, inventory=str(inventory),
                                              connection=None, env=ansible_environment())
        result = runs[role]
        assert host in result.stats, 'no result for %s: %s' % (host, sorted(result.stats))
        return result, host

    return get


def failure(result, host='localhost'):
    failed = [r for r in result.failed if r['host'] == host]
    assert failed, result.stdout
    return json.dumps(failed[-1]['result'])


def failure_msg(result, host='localhost'):
    failed = [r for r in result.failed if r['host'] == host]
    assert failed, result.stdout
    return failed[-1]['result']['msg']


NAME_CASES = {
    'no-name': [{'domains': ['a.example.test']}],
    'path': [{'name': '../../etc/passwd', 'domains': ['a.example.test']}],
    'space': [{'name': 'has space', 'domains': ['a.example.test']}],
}
add_cases(('cert_deploy', 'nginx_tls'), 'names-',
          {name: {'autotls_host_certificates': certificates} for name, certificates in NAME_CASES.items()})


@SHARED_RUN
@pytest.mark.parametrize('role', ['cert_deploy', 'nginx_tls'])
@pytest.mark.parametrize('case', list(NAME_CASES))
def test_certificate_names_must_be_file_names(checked, role, case):
    result, host = checked(role, '%s-names-%s' % (role, case))
    assert "letters, digits, '.', '_' and '-'" in failure(result, host)
    assert result.stats[host]['changed'] == 0


INJECTION = 'shop.example.test evil.example.test; location /leak/ { alias /etc/autotls/certs/; autoindex on; } #'
# {host}: the case's inventory host.
RENDER_CASES = {
    'injection': ({'name': 'shop', 'domains': [INJECTION]},
                  "Certificate 'shop' in autotls_host_certificates of host {host}: domain %r contains white space"
                  % INJECTION),
    'string': ({'name': 'shop', 'domains': 'shop.example.test'},
               "domains must be a list, e.g. [a.example.com], not the string 'shop.example.test'"),
    'inner-wildcard': ({'name': 'shop', 'domains': ['foo.*.example.com']}, 'is not the whole leftmost label'),
    'newline-name': ({'name': 'app\n', 'domains': ['a.example.test']}, "the name 'app\\n', which is not a plain file name"),
    'int-mode': ({'name': 'shop', 'domains': ['a.example.test'], 'key_mode': 660}, 'key_mode is the number 660'),
    'open-key': ({'name': 'shop', 'domains': ['a.example.test'], 'key_mode': '0644'}, "key_mode '0644' gives every user"),
    'unknown-key': ({'name': 'shop', 'domains': ['a.example.test'], 'gruop': 'www-data'},
                    "unknown key 'gruop' (did you mean 'group'?)"),
}
add_cases(('cert_deploy', 'nginx_tls'), 'render-',
          {name: {'autotls_host_certificates': [case[0]]} for name, case in RENDER_CASES.items()})


@SHARED_RUN
@pytest.mark.parametrize('role', ['cert_deploy', 'nginx_tls'])
@pytest.mark.parametrize('case', list(RENDER_CASES))
def test_roles_render_nothing_they_have_not_validated(checked, role, case):
    result, host = checked(role, '%s-render-%s' % (role, case))
    assert RENDER_CASES[case][1].replace('{host}', host) in failure_msg(result, host)
    assert result.stats[host]['changed'] == 0


SERVER_NAMES = add_case('nginx_tls', 'server-names', {'autotls_nginx_server_names': ['ok.example.test', 'a b;']})


@SHARED_RUN
def test_nginx_tls_checks_extra_server_names(checked):
    result, host = checked('nginx_tls', SERVER_NAMES)
    assert "domain 'a b;' contains white space" in failure_msg(result, host)
    assert result.stats[host]['changed'] == 0


NGINX_SETTING_CASES = {
    'defaults-extra': (
        {'autotls_nginx_server_defaults': {'root': '/srv', 'extra': ['add_header X a#b; } server { listen 8443;']}},
        "autotls_nginx_server_defaults: extra ['add_header X a#b; } server { listen 8443;'] has unbalanced braces"),
    'defaults-typo': ({'autotls_nginx_server_defaults': {'proxypass': 'http://127.0.0.1:8080'}},
                      "unknown key 'proxypass' (did you mean 'proxy_pass'?)"),
    'listen': ({'autotls_nginx_listen_address': '0.0.0.0:8080; include /tmp/evil.conf'},
               "autotls_nginx_listen_address: '0.0.0.0:8080; include /tmp/evil.conf' cannot be written"),
    'ciphers': ({'autotls_nginx_ssl_ciphers': 'HIGH; } server { listen 81'}, 'autotls_nginx_ssl_ciphers'),
}
add_cases(('nginx_tls',), 'settings-', {name: case[0] for name, case in NGINX_SETTING_CASES.items()})


@SHARED_RUN
@pytest.mark.parametrize('case', list(NGINX_SETTING_CASES))
def test_nginx_tls_checks_its_own_settings_before_writing(checked, case):
    result, host = checked('nginx_tls', 'nginx_tls-settings-' + case)
    assert NGINX_SETTING_CASES[case][1] in failure_msg(result, host)
    assert result.stats[host]['changed'] == 0


MODE_CASES = {
    'key-int': ({'autotls_key_mode': 660}, 'autotls_key_mode is the number 660, not a quoted string: quote it, e.g. "0640"'),
    'key-open': ({'autotls_key_mode': '0644'}, "autotls_key_mode '0644' gives every user on the host access to the private key"),
    'cert-big': ({'autotls_cert_mode': '7777777'}, "autotls_cert_mode '7777777' is not an octal mode of at most 0777"),
    'cert-int': ({'autotls_cert_mode': 644}, 'autotls_cert_mode is the number 644'),
}
add_cases(('cert_deploy',), 'modes-', {name: case[0] for name, case in MODE_CASES.items()})


@SHARED_RUN
@pytest.mark.parametrize('case', list(MODE_CASES))
def test_cert_deploy_modes_are_quoted_octal(checked, case):
    result, host = checked('cert_deploy', 'cert_deploy-modes-' + case)
    assert MODE_CASES[case][1] in failure_msg(result, host)
    assert result.stats[host]['changed'] == 0


MISSING_SETTING = add_case('cert_deploy', 'missing-setting', {'autotls_cert_deploy_missing': 'ignore'})


@SHARED_RUN
def test_cert_deploy_missing_setting_is_checked(checked):
    # The argument spec catches it before the role's own tasks run.
    result, host = checked('cert_deploy', MISSING_SETTING)
    assert 'autotls_cert_deploy_missing' in failure(result, host)


# 'pem': ONE or TWO of the module's roots, put in by the checked fixture.
ROOT_CASES = {
    'bundle': ({'name': 'bundle', 'pem': 'TWO'}, 'exactly one PEM certificate'),
    'no-pem': ({'name': 'nopem'}, 'exactly one PEM certificate'),
    'bad-name': ({'name': 'bad/name', 'pem': 'ONE'}, "letters, digits, '.', '_'"),
}
add_cases(('ca_trust',), 'roots-', {name: {'autotls_ca_roots': [case[0]]} for name, case in ROOT_CASES.items()})


@SHARED_RUN
@pytest.mark.parametrize('case', list(ROOT_CASES))
def test_ca_roots_are_checked(checked, case):
    result, host = checked('ca_trust', 'ca_trust-roots-' + case)
    assert ROOT_CASES[case][1] in failure(result, host)
    assert result.stats[host]['changed'] == 0


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


ONBOARD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                       'playbooks', 'onboard.yml')


@pytest.mark.parametrize('variables, entry_point, named', [
    # nginx_tls's acme entry point (port 80 before the first issuance)
    ({'autotls_nginx_ipv6': 'sometimes'}, 'acme', 'autotls_nginx_ipv6'),
    # issue's bootstrap_ca entry point (trust in the private CA)
    ({'autotls_ca_root_fingerprint': 'ab' * 32, 'autotls_acme_directory': 'https://ca.example.test/acme/acme/directory',
      'autotls_store': 'not-a-mapping'}, 'bootstrap_ca', 'autotls_store'),
], ids=['nginx_tls-acme', 'issue-bootstrap_ca'])
def test_onboard_checks_the_entry_points_it_includes(run_playbook, variables, entry_point, named):
    """onboard.yml's tasks_from includes are checked against their entry point's argument spec
    (check mode: before the fix, the unchecked tasks would have run on this machine)."""
    result = run_playbook(ONBOARD, extra_vars=variables, check=True, expect_rc=2)
    assert result.failed, result.stdout
    failed = result.failed[-1]
    assert "Validating arguments against arg spec '%s'" % entry_point in failed['task'], failed['task']
    assert named in json.dumps(failed['result'])
    assert result.stats['localhost']['changed'] == 0


def test_every_tasks_from_names_an_entry_point():
    """Ansible checks a role's variables only for an entry point named exactly like tasks_from."""
    import glob
    import yaml
    root = os.path.dirname(ONBOARD)
    root = os.path.dirname(root)
    specs = {path.split(os.sep)[-3]: yaml.safe_load(open(path))['argument_specs']
             for path in glob.glob(os.path.join(root, 'roles', '*', 'meta', 'argument_specs.yml'))}
    uses = []
    for path in glob.glob(os.path.join(root, 'playbooks', '**', '*.yml'), recursive=True) + \
            glob.glob(os.path.join(root, 'roles', '*', 'tasks', '*.yml')):
        text = open(path).read()
        for role, entry in re.findall(r'name:\s*autotls\.acme\.(\w+)\s*\n\s*tasks_from:\s*([\w.]+)', text):
            uses.append((os.path.relpath(path, root), role, entry))
    assert uses, 'no tasks_from found: the pattern is out of date'
    missing = [u for u in uses if u[2] not in specs[u[1]]]
    assert not missing, 'tasks_from without an entry point of that name in meta/argument_specs.yml: %s' % missing


def test_traefik_acme_writes_nothing_for_a_bad_setting(run_playbook, tmp_path):
    static = tmp_path / 'traefik' / 'traefik.yml'
    result = run_role(run_playbook, 'traefik_acme', {
        'autotls_acme_directory': 'https://ca.internal:9443/acme/acme/directory',
        'autotls_traefik_listen_address': 'edge1.internal', 'autotls_traefik_static_config': str(static)})
    assert "autotls_traefik_listen_address is 'edge1.internal': use one IP address" in failure_msg(result)
    assert result.stats['localhost']['changed'] == 0 and not static.parent.exists()


def test_traefik_acme_keeps_no_copy_of_the_previous_static_config(run_playbook, tmp_path):
    static = tmp_path / 'traefik' / 'traefik.yml'
    settings = {'autotls_acme_directory': 'https://ca.internal:9443/acme/acme/directory',
                'autotls_traefik_static_config': str(static), 'autotls_traefik_restart': False,
                'autotls_traefik_dynamic_dir': str(tmp_path / 'traefik' / 'dynamic'),
                'autotls_traefik_acme_storage': str(tmp_path / 'traefik' / 'acme.json')}
    for port in (443, 8443):   # the second run changes the file
        run_role(run_playbook, 'traefik_acme', dict(settings, autotls_traefik_https_port=port), expect_rc=0)
    assert '8443' in static.read_text()
    assert sorted(p.name for p in static.parent.iterdir() if p.is_file()) == ['traefik.yml'], list(static.parent.iterdir())
