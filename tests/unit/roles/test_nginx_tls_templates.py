# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nginx_tls's templates rendered on the controller for several settings (no nginx needed).

The role's defaults and vars files are loaded as play vars, the settings under test come
as extra vars (which win), and the templates are rendered with the template lookup.
"""

import os
import re

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE_DIR = os.path.join(REPO_ROOT, 'roles', 'nginx_tls')

CERTIFICATE = {'name': 'site', 'domains': ['site.example.test', '*.site.example.test']}


def render_tls(run_playbook, **kwargs):
    return render(run_playbook, **kwargs)[1]


def render(run_playbook, certificate=None, http2_directive=False, **settings):
    """(acme.conf, tls.conf) as the role would write them."""
    certificate = certificate or CERTIFICATE
    book = [{
        'hosts': 'localhost',
        'gather_facts': False,
        'vars_files': [os.path.join(ROLE_DIR, 'defaults', 'main.yml'),
                       os.path.join(ROLE_DIR, 'vars', 'main.yml')],
        'tasks': [
            {'name': 'acme', 'ansible.builtin.debug': {
                'msg': "{{ lookup('ansible.builtin.template', '%s/templates/acme.conf.j2') }}" % ROLE_DIR}},
            {'name': 'tls', 'ansible.builtin.debug': {
                'msg': "{{ lookup('ansible.builtin.template', '%s/templates/tls.conf.j2',"
                       " template_vars={'item': certificate}) }}" % ROLE_DIR}},
        ],
    }]
    extra = {'autotls_host_certificates': [certificate], 'certificate': certificate,
             '__nginx_tls_http2_directive': http2_directive}
    extra.update(settings)
    result = run_playbook(book, extra_vars=extra)
    return result.task('acme')['result']['msg'], result.task('tls')['result']['msg']


def directives(text, name):
    return [line.strip() for line in text.splitlines() if re.match(r'\s*%s\b' % name, line)]


def test_all_addresses_ipv4_and_ipv6(run_playbook):
    acme, tls = render(run_playbook)
    assert directives(acme, 'listen') == ['listen 80;', 'listen [::]:80;']
    assert directives(tls, 'listen') == ['listen 443 ssl;', 'listen [::]:443 ssl;']
    assert directives(acme, 'server_name') == ['server_name site.example.test *.site.example.test;']
    assert 'root /var/www/acme;' in acme
    assert 'return 301 https://$host$request_uri;' in acme


def test_given_address_is_used_everywhere_and_no_ipv6(run_playbook):
    acme, tls = render(run_playbook, autotls_nginx_listen_address='127.0.0.42')
    assert directives(acme, 'listen') == ['listen 127.0.0.42:80;']
    assert directives(tls, 'listen') == ['listen 127.0.0.42:443 ssl;']


def test_ipv6_address_gets_brackets(run_playbook):
    acme, tls = render(run_playbook, autotls_nginx_listen_address='fd00::5')
    assert directives(acme, 'listen') == ['listen [fd00::5]:80;']
    assert directives(tls, 'listen') == ['listen [fd00::5]:443 ssl;']


def test_no_ipv6_when_disabled_and_default_server(run_playbook):
    acme, tls = render(run_playbook, autotls_nginx_ipv6=False, autotls_nginx_default_server=True)
    assert directives(acme, 'listen') == ['listen 80 default_server;']
    assert directives(tls, 'listen') == ['listen 443 ssl default_server;']


@pytest.mark.parametrize('new_syntax, listen, http2_line', [
    (False, 'listen 443 ssl http2;', []),           # nginx before 1.25.1
    (True, 'listen 443 ssl;', ['http2 on;']),       # nginx 1.25.1 and later
])
def test_http2_syntax_follows_nginx_version(run_playbook, new_syntax, listen, http2_line):
    tls = render_tls(run_playbook, autotls_nginx_http2=True, autotls_nginx_ipv6=False,
                     http2_directive=new_syntax)
    assert directives(tls, 'listen') == [listen]
    assert directives(tls, 'http2') == http2_line


def test_tls_settings_and_content(run_playbook):
    tls = render_tls(run_playbook, autotls_cert_dir='/srv/certs', autotls_nginx_hsts_max_age=300)
    assert 'ssl_certificate /srv/certs/site/fullchain.pem;' in tls
    assert 'ssl_certificate_key /srv/certs/site/privkey.pem;' in tls
    assert 'ssl_protocols TLSv1.2 TLSv1.3;' in tls
    assert directives(tls, 'ssl_ciphers')[0].startswith('ssl_ciphers ECDHE-')
    assert 'add_header Strict-Transport-Security "max-age=300" always;' in tls
    assert directives(tls, 'root') == ['root /var/www/html;']
    assert directives(tls, 'server_name') == ['server_name site.example.test *.site.example.test;']


def test_per_certificate_proxy_pass_replaces_default_root(run_playbook):
    cert = dict(CERTIFICATE, nginx={'proxy_pass': 'http://127.0.0.1:8080',
                                    'extra': 'client_max_body_size 20m;\ngzip on;'})
    tls = render_tls(run_playbook, certificate=cert)
    assert directives(tls, 'root') == []
    assert directives(tls, 'proxy_pass') == ['proxy_pass http://127.0.0.1:8080;']
    assert directives(tls, 'client_max_body_size') == ['client_max_body_size 20m;']
    assert directives(tls, 'gzip') == ['gzip on;']


def test_server_defaults_apply_without_per_certificate_settings(run_playbook):
    tls = render_tls(run_playbook, autotls_nginx_server_defaults={
        'proxy_pass': 'http://unix:/run/app.sock', 'extra': ['access_log off;']})
    assert directives(tls, 'proxy_pass') == ['proxy_pass http://unix:/run/app.sock;']
    assert directives(tls, 'access_log') == ['access_log off;']
