# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles refuse bad input before touching anything (run on localhost; the checks are
their first tasks, so nothing is written when they fail)."""

import json
import re
import os

import pytest

from testbed.tls import cert_pem, make_ca


def run_role(run_playbook, role, variables, expect_rc=2):
    book = [{'hosts': 'localhost', 'gather_facts': False,
             'roles': [{'role': 'autotls.acme.' + role}]}]
    return run_playbook(book, extra_vars=variables, expect_rc=expect_rc)


def failure(result):
    assert result.failed, result.stdout
    return json.dumps(result.failed[-1]['result'])


def failure_msg(result):
    assert result.failed, result.stdout
    return result.failed[-1]['result']['msg']


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


INJECTION = 'shop.example.test evil.example.test; location /leak/ { alias /etc/autotls/certs/; autoindex on; } #'


@pytest.mark.parametrize('role', ['cert_deploy', 'nginx_tls'])
@pytest.mark.parametrize('certificate, expected', [
    ({'name': 'shop', 'domains': [INJECTION]},
     "Certificate 'shop' in autotls_host_certificates of host localhost: domain %r contains white space" % INJECTION),
    ({'name': 'shop', 'domains': 'shop.example.test'},
     "domains must be a list, e.g. [a.example.com], not the string 'shop.example.test'"),
    ({'name': 'shop', 'domains': ['foo.*.example.com']}, 'is not the whole leftmost label'),
    ({'name': 'app\n', 'domains': ['a.example.test']}, "the name 'app\\n', which is not a plain file name"),
    ({'name': 'shop', 'domains': ['a.example.test'], 'key_mode': 660}, 'key_mode is the number 660'),
    ({'name': 'shop', 'domains': ['a.example.test'], 'key_mode': '0644'}, "key_mode '0644' gives every user"),
    ({'name': 'shop', 'domains': ['a.example.test'], 'gruop': 'www-data'}, "unknown key 'gruop' (did you mean 'group'?)"),
], ids=['injection', 'string', 'inner-wildcard', 'newline-name', 'int-mode', 'open-key', 'unknown-key'])
def test_roles_render_nothing_they_have_not_validated(run_playbook, role, certificate, expected):
    result = run_role(run_playbook, role, {'autotls_host_certificates': [certificate]})
    assert expected in failure_msg(result)
    assert result.stats['localhost']['changed'] == 0


def test_nginx_tls_checks_extra_server_names(run_playbook):
    result = run_role(run_playbook, 'nginx_tls', {'autotls_nginx_server_names': ['ok.example.test', 'a b;']})
    assert "domain 'a b;' contains white space" in failure_msg(result)
    assert result.stats['localhost']['changed'] == 0


@pytest.mark.parametrize('variables, expected', [
    ({'autotls_nginx_server_defaults': {'root': '/srv', 'extra': ['add_header X a#b; } server { listen 8443;']}},
     "autotls_nginx_server_defaults: extra ['add_header X a#b; } server { listen 8443;'] has unbalanced braces"),
    ({'autotls_nginx_server_defaults': {'proxypass': 'http://127.0.0.1:8080'}},
     "unknown key 'proxypass' (did you mean 'proxy_pass'?)"),
    ({'autotls_nginx_listen_address': '0.0.0.0:8080; include /tmp/evil.conf'},
     "autotls_nginx_listen_address: '0.0.0.0:8080; include /tmp/evil.conf' cannot be written"),
    ({'autotls_nginx_ssl_ciphers': 'HIGH; } server { listen 81'}, 'autotls_nginx_ssl_ciphers'),
], ids=['defaults-extra', 'defaults-typo', 'listen', 'ciphers'])
def test_nginx_tls_checks_its_own_settings_before_writing(run_playbook, variables, expected):
    result = run_role(run_playbook, 'nginx_tls', variables)
    assert expected in failure_msg(result)
    assert result.stats['localhost']['changed'] == 0


@pytest.mark.parametrize('variables, expected', [
    ({'autotls_key_mode': 660}, 'autotls_key_mode is the number 660, not a quoted string: quote it, e.g. "0640"'),
    ({'autotls_key_mode': '0644'}, "autotls_key_mode '0644' gives every user on the host access to the private key"),
    ({'autotls_cert_mode': '7777777'}, "autotls_cert_mode '7777777' is not an octal mode of at most 0777"),
    ({'autotls_cert_mode': 644}, 'autotls_cert_mode is the number 644'),
], ids=['key-int', 'key-open', 'cert-big', 'cert-int'])
def test_cert_deploy_modes_are_quoted_octal(run_playbook, variables, expected):
    result = run_role(run_playbook, 'cert_deploy', variables)
    assert expected in failure_msg(result)
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
