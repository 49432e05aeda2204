# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.certificate import (
    ALL_KEYS,
    deploy_subset,
    issuance_subset,
    nginx_settings,
    server_subset,
    validate_declared_certificate,
)

WHERE = 'autotls_host_certificates of host app1'
# The private-CA guide's entry, with every deploy key.
GUIDE = {'name': 'app1', 'domains': ['App1.Internal.Example.com.'], 'challenge': 'http-01',
         'owner': 'root', 'group': 'www-data', 'mode': '0644', 'key_mode': '0640',
         'nginx': {'proxy_pass': 'http://127.0.0.1:8080'}}


def error(entry):
    with pytest.raises(ConfigurationError) as err:
        validate_declared_certificate(entry, WHERE)
    return str(err.value)


def test_the_guide_entry_is_valid_and_normalised():
    entry = validate_declared_certificate(GUIDE, WHERE)
    assert entry['domains'] == ['app1.internal.example.com']
    assert entry['key_type'] == 'ec256'
    assert entry['key_mode'] == '0640'
    assert GUIDE['domains'] == ['App1.Internal.Example.com.']   # the input is not changed


def test_subsets_give_each_component_its_keys():
    entry = validate_declared_certificate(dict(GUIDE, zone_id='Z1', reuse_key=True, hosts=['app1']), WHERE)
    assert issuance_subset(entry) == {'name': 'app1', 'domains': ['app1.internal.example.com'],
                                      'challenge': 'http-01', 'key_type': 'ec256', 'zone_id': 'Z1',
                                      'reuse_key': True, 'hosts': ['app1']}
    assert deploy_subset(entry) == {'name': 'app1', 'owner': 'root', 'group': 'www-data', 'mode': '0644',
                                    'key_mode': '0640'}
    assert server_subset(entry) == {'name': 'app1', 'domains': ['app1.internal.example.com'],
                                    'nginx': {'proxy_pass': 'http://127.0.0.1:8080'}}


def test_an_unknown_key_names_certificate_key_and_the_known_keys():
    message = error(dict(GUIDE, key_mod='0640'))
    assert message.startswith("Certificate 'app1' in %s: unknown key 'key_mod' (did you mean 'key_mode'?)" % WHERE)
    for key in ALL_KEYS:
        assert key in message


def test_an_unknown_nginx_key():
    assert "nginx: unknown key 'proxy'" in error(dict(GUIDE, nginx={'proxy': 'http://x'}))


@pytest.mark.parametrize('entry, expected', [
    ({'name': 'has space', 'domains': ['a.example.com']}, "the name 'has space', which is not a plain file name"),
    ({'name': 'app\n', 'domains': ['a.example.com']}, "the name 'app\\n'"),
    ({'domains': ['a.example.com']}, 'has no name'),
    ('app1', "is 'app1', not a dict"),
    ({'name': 'app1'}, "Certificate 'app1' in %s: domains is missing" % WHERE),
    ({'name': 'app1', 'domains': 'app1.example.com'}, 'domains must be a list, e.g. [a.example.com]'),
    ({'name': 'app1', 'domains': []}, 'domains is empty'),
    ({'name': 'app1', 'domains': ['*.a.example.com'], 'challenge': 'http-01'}, 'use challenge: dns-01'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'challenge': 'tls-alpn-01'}, "challenge 'tls-alpn-01' is not one"),
    ({'name': 'app1', 'domains': ['a.example.com'], 'key_type': 'rsa1024'}, "key_type 'rsa1024' is not one"),
    ({'name': 'app1', 'domains': ['a.example.com'], 'reuse_key': 'maybe'}, 'reuse_key must be true or false'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'zone_id': ''}, 'zone_id must be a non-empty string'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'hosts': 'app1'}, 'hosts must be a list'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'owner': 'a b'}, "owner 'a b' is not a user"),
    ({'name': 'app1', 'domains': ['a.example.com'], 'group': -1}, "group -1 is not a user or group"),
    ({'name': 'app1', 'domains': ['a.example.com'], 'mode': 644}, 'mode is the number 644, not a quoted string: '
                                                                  'quote it, e.g. "0640"'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'key_mode': 660}, 'quote it, e.g. "0640"'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'key_mode': '0644'}, "key_mode '0644' gives every user"),
    ({'name': 'app1', 'domains': ['a.example.com'], 'mode': '7777777'}, 'not an octal mode of at most 0777'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'mode': '-1'}, 'not an octal mode of at most 0777'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'nginx': 'proxy'}, 'nginx must be a dict'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'nginx': {'proxy_pass': 'http://x; }'}}, 'nginx.proxy_pass'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'nginx': {'root': 'www'}}, 'nginx.root'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'nginx': {'extra': {'a': 1}}}, 'nginx.extra'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'nginx': {'extra': ['} server {', 'listen 81;']}},
     'nginx.extra'),
    ({'name': 'app1', 'domains': ['a.example.com'], 'nginx': {'extra': 'location / {'}}, 'unbalanced braces'),
])
def test_bad_entries_are_refused_with_what_to_change(entry, expected):
    message = error(entry)
    assert WHERE in message
    assert expected in message


def test_nulls_mean_not_set():
    entry = validate_declared_certificate({'name': 'a', 'domains': ['a.example.com'], 'mode': None, 'nginx': None})
    assert 'mode' not in entry and 'nginx' not in entry


def test_numeric_owner_and_nginx_extra_text():
    extra = 'client_max_body_size 2m;\nlocation /api/ { proxy_pass http://b; } # {'
    entry = validate_declared_certificate({'name': 'a', 'domains': ['a.example.com'], 'owner': 0, 'group': '33',
                                           'nginx': {'root': '/srv/a', 'extra': extra}})
    assert entry['owner'] == 0 and entry['group'] == '33'


# The server block's end as nginx reads it: '#' inside a word and braces inside quotes are
# literal, so they neither hide a '}' from the check nor count as one.
@pytest.mark.parametrize('extra', [
    ['add_header X a#b; } server { listen 8443; location / { alias /etc/autotls/certs/; autoindex on; }'],
    ['return 200 "#"; } server { listen 8443; root /etc;'],
    ['add_header X a}; }'],
    ['return 200 "never closed;'],
    ['return 200 \\'],
], ids=['hash-in-word', 'hash-in-quotes', 'brace-after-word', 'open-quote', 'open-escape'])
def test_extra_that_would_leave_the_server_block_is_refused(extra):
    message = error({'name': 'app1', 'domains': ['a.example.com'], 'nginx': {'extra': extra}})
    assert "nginx.extra %r has unbalanced braces or an open quote" % (extra,) in message


@pytest.mark.parametrize('extra', [
    'return 200 "}";',
    "add_header X-Brace '{';",
    'set $x ${host}a;',
    'location /x { deny all; } # } a comment',
    'return 200 \\};',
])
def test_extra_with_literal_braces_stays_in_its_block(extra):
    entry = validate_declared_certificate({'name': 'a', 'domains': ['a.example.com'], 'nginx': {'extra': [extra]}})
    assert entry['nginx']['extra'] == [extra]


def test_nginx_settings_checks_the_role_variables_by_name():
    good = {'autotls_nginx_server_defaults': {'proxy_pass': 'http://127.0.0.1:8080'},
            'autotls_nginx_ssl_protocols': ['TLSv1.2', 'TLSv1.3'], 'autotls_nginx_listen_address': '',
            'autotls_nginx_ssl_ciphers': None}
    assert nginx_settings(good) is good
    for settings, expected in [
        ({'autotls_nginx_server_defaults': {'extra': ['a#b; } server {']}},
         'autotls_nginx_server_defaults: extra'),
        ({'autotls_nginx_server_defaults': {'proxypass': 'http://a'}},
         "autotls_nginx_server_defaults: unknown key 'proxypass' (did you mean 'proxy_pass'?)"),
        ({'autotls_nginx_server_defaults': {'root': 'relative'}}, "autotls_nginx_server_defaults: root 'relative'"),
        ({'autotls_nginx_listen_address': '127.0.0.1:80; include /tmp/x.conf'},
         "autotls_nginx_listen_address: '127.0.0.1:80; include /tmp/x.conf' cannot be written"),
        ({'autotls_nginx_ssl_protocols': ['TLSv1.3;']}, 'give each value without'),
    ]:
        with pytest.raises(ConfigurationError) as info:
            nginx_settings(settings)
        assert expected in str(info.value)
