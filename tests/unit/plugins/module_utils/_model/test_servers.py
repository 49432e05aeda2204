# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls_servers: kinds, settings and names checked before anything changes on a host."""

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import KINDS
from ansible_collections.autotls.acme.plugins.module_utils._model.servers import validate_servers


def test_default_is_nginx_as_before_and_a_kind_name_is_enough():
    for value in (None, [], ''):
        servers = validate_servers(value)
        assert [(s['kind'], s['name'], s['validate'], s['notify'], s['port']) for s in servers] == [
            ('nginx', 'nginx', ['nginx', '-t'], 'autotls.acme : reload nginx', 443)]
    assert validate_servers('haproxy')[0]['kind'] == 'haproxy'


def test_each_kind_fills_in_its_commands_from_its_settings():
    nginx, haproxy, custom = validate_servers([
        'nginx',
        {'kind': 'haproxy', 'crt_dir': '/etc/haproxy/tls', 'config': '/etc/haproxy/main.cfg', 'port': 8443},
        {'kind': 'custom', 'name': 'postfix', 'validate': ['postfix', 'check'], 'reload': ['postfix', 'reload'],
         'files': [{'path': '/etc/postfix/tls/{name}.pem', 'parts': ['fullchain', 'key']}]},
    ])
    assert haproxy['validate'] == ['haproxy', '-c', '-f', '/etc/haproxy/main.cfg']
    assert haproxy['reload'] == ['pkill', '-USR2', '--pidfile', '/run/haproxy.pid']
    assert haproxy['port'] == 8443 and haproxy['notify'] == ''
    assert KINDS['haproxy'].forms(haproxy, {'name': 'web'}) == [
        {'path': '/etc/haproxy/tls/web.pem', 'parts': ['fullchain', 'key'], 'key': True, 'mode': None}]
    assert custom['name'] == 'postfix' and custom['port'] is None
    assert KINDS['custom'].forms(custom, {'name': 'mx'}) == [
        {'path': '/etc/postfix/tls/mx.pem', 'parts': ['fullchain', 'key'], 'key': True, 'mode': '0600'}]
    assert KINDS['nginx'].forms(nginx, {'name': 'web'}) == []


def test_role_defaults_apply_where_the_entry_says_nothing():
    defaults = {'nginx': {'validate': ['/usr/sbin/nginx', '-t'], 'notify': 'my topic'}}
    assert validate_servers(None, defaults=defaults)[0]['validate'] == ['/usr/sbin/nginx', '-t']
    own = validate_servers([{'kind': 'nginx', 'validate': []}], defaults=defaults)[0]
    assert own['validate'] == [] and own['notify'] == 'my topic'


@pytest.mark.parametrize('value, message', [
    (['ngnix'], "autotls_servers[0]: unknown server kind 'ngnix' (did you mean 'nginx'?); use one of"),
    ([{'kind': 'haproxy', 'crt_dri': '/x'}], "unknown key 'crt_dri' (did you mean 'crt_dir'?)"),
    ([{'kind': 'custom', 'notify': 'my handler'}], "unknown key 'notify'; a custom server takes"),
    ([{'kind': 'haproxy', 'crt_dir': 'certs'}], "crt_dir of server 'haproxy' must be an absolute path"),
    ([{'kind': 'haproxy', 'crt_dir': '/etc/../tmp'}], "crt_dir of server 'haproxy' must be an absolute path"),
    ([{'kind': 'haproxy', 'validate': 'haproxy -c'}],
     "validate of server 'haproxy' must be a list of arguments such as [haproxy, -c] (no shell runs it)"),
    ([{'kind': 'nginx', 'port': 70000}], "port of server 'nginx' must be a port number from 1 to 65535"),
    (['nginx', 'nginx'], "autotls_servers[1]: a second server named 'nginx'"),
    ([{'kind': 'nginx', 'name': 'a b'}], "autotls_servers[0]: name 'a b' must be letters"),
    ([{'kind': 'custom', 'files': [{'path': '/etc/x/cert.pem', 'parts': ['key']}]}],
     "files[0].path of server 'custom' must contain {name} in its file name"),
    ([{'kind': 'custom', 'files': [{'path': '/etc/x/{name}.pem', 'parts': ['fullchain', 'pkey']}]}],
     "files[0].parts of server 'custom' must be a list of cert, chain, fullchain, key"),
    ([{'kind': 'custom', 'files': [{'path': '/etc/x/{name}.pem', 'parts': ['key'], 'mode': '0644'}]}],
     "files[0].mode of server 'custom' '0644' gives every user on the host access to the private key"),
    ('nginx -t', "unknown server kind 'nginx -t'"),
    (42, 'autotls_servers must be a list of servers'),
])
def test_bad_entries_are_named_with_what_to_change(value, message):
    with pytest.raises(ConfigurationError) as info:
        validate_servers(value)
    assert message in str(info.value)


def test_apache_writes_a_virtual_host_per_certificate_from_validated_names():
    apache = validate_servers([{'kind': 'apache', 'listen': '127.0.0.12', 'port': 9443}])[0]
    assert apache['validate'] == ['apache2ctl', 'configtest'] and apache['reload'] == ['apache2ctl', 'graceful']
    configs = KINDS['apache'].configs(apache, [{'name': 'web', 'domains': ['*.example.test', 'example.test']}],
                                      '/etc/autotls/certs')
    assert [c['path'] for c in configs] == ['/etc/apache2/sites-enabled/autotls-web.conf']
    assert configs[0]['name'] == 'web'
    text = configs[0]['content']
    assert '<VirtualHost 127.0.0.12:9443>' in text
    assert '    ServerName example.test\n    ServerAlias *.example.test\n' in text
    assert '    SSLCertificateFile /etc/autotls/certs/web/fullchain.pem\n' in text
    assert '    SSLCertificateKeyFile /etc/autotls/certs/web/privkey.pem\n' in text
    with pytest.raises(ConfigurationError, match="Certificate 'wild' has no domain without a wildcard"):
        KINDS['apache'].configs(apache, [{'name': 'wild', 'domains': ['*.example.test']}], '/etc/autotls/certs')
    with pytest.raises(ConfigurationError, match="listen of server 'apache' must be '\\*', a host name"):
        validate_servers([{'kind': 'apache', 'listen': '* :443'}])
    assert [validate_servers([{'kind': 'apache', 'listen': v}])[0]['listen'] for v in ('*', '[::1]', '10.0.0.5')] == [
        '*', '[::1]', '10.0.0.5']
