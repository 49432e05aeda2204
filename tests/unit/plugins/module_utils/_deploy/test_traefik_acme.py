# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Traefik's static configuration for its ACME resolver: rendered from checked role variables."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.filter.traefik_static_config import FilterModule
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.traefik_acme import static_config

DIRECTORY = 'https://ca.internal:9443/acme/acme/directory'


def _config(**variables):
    return static_config(dict({'autotls_acme_directory': DIRECTORY}, **variables))


def test_defaults_give_an_http01_resolver_on_every_address():
    config = _config()
    assert config['entryPoints'] == {'web': {'address': ':80'}, 'websecure': {'address': ':443'}}
    assert config['providers'] == {'file': {'directory': '/etc/traefik/dynamic', 'watch': True}}
    assert config['global'] == {'checkNewVersion': False, 'sendAnonymousUsage': False}
    assert config['certificatesResolvers'] == {'autotls': {'acme': {
        'caServer': DIRECTORY, 'storage': '/etc/traefik/acme.json', 'keyType': 'EC256',
        'certificatesDuration': 24, 'httpChallenge': {'entryPoint': 'web'}}}}


def test_settings_reach_their_place():
    config = _config(autotls_account_email='ops@example.com', autotls_traefik_acme_resolver='stepca',
                     autotls_traefik_acme_challenge='tls-alpn-01', autotls_traefik_acme_key_type='rsa2048',
                     autotls_traefik_acme_certificates_duration='2160',
                     autotls_traefik_acme_ca_certificates=['/etc/traefik/ca.pem'],
                     autotls_traefik_listen_address='fd00::5', autotls_traefik_http_port=8080,
                     autotls_traefik_https_port='8443', autotls_traefik_static_extra={'log': {'level': 'INFO'}})
    acme = config['certificatesResolvers']['stepca']['acme']
    assert acme == {'caServer': DIRECTORY, 'storage': '/etc/traefik/acme.json', 'keyType': 'RSA2048',
                    'certificatesDuration': 2160, 'email': 'ops@example.com',
                    'caCertificates': ['/etc/traefik/ca.pem'], 'tlsChallenge': {}}
    assert config['entryPoints']['web']['address'] == '[fd00::5]:8080'
    assert config['entryPoints']['websecure']['address'] == '[fd00::5]:8443'
    assert config['log'] == {'level': 'INFO'}


def test_directory_aliases_are_the_collections():
    assert _config(autotls_acme_directory='letsencrypt')['certificatesResolvers']['autotls']['acme'][
        'caServer'] == 'https://acme-v02.api.letsencrypt.org/directory'


@pytest.mark.parametrize('variable,value,says', [
    ('autotls_acme_directory', 'ca.internal', 'autotls_acme_directory is \'ca.internal\': use the https:// URL'),
    ('autotls_acme_directory', '', 'autotls_acme_directory is not set'),
    ('autotls_acme_directory', DIRECTORY + '\n', 'autotls_acme_directory is'),
    ('autotls_account_email', 'ops at example', "autotls_account_email is 'ops at example': use one e-mail"),
    ('autotls_traefik_acme_resolver', 'step ca', "autotls_traefik_acme_resolver is 'step ca'"),
    ('autotls_traefik_acme_challenge', 'dns-01', 'use http-01 or tls-alpn-01'),
    ('autotls_traefik_acme_key_type', 'ed25519', 'use one of ec256, ec384, rsa2048, rsa3072, rsa4096'),
    ('autotls_traefik_acme_certificates_duration', '24h', 'in whole hours'),
    ('autotls_traefik_acme_certificates_duration', 0, 'in whole hours'),
    ('autotls_traefik_acme_storage', 'acme.json', "autotls_traefik_acme_storage is 'acme.json': use an absolute"),
    ('autotls_traefik_acme_storage', '/etc/traefik/../acme.json', 'normalised'),
    ('autotls_traefik_acme_ca_certificates', '/etc/ca.pem', 'use a list of absolute paths'),
    ('autotls_traefik_acme_ca_certificates', ['ca.pem'], "autotls_traefik_acme_ca_certificates is 'ca.pem'"),
    ('autotls_traefik_listen_address', 'edge1.internal', "autotls_traefik_listen_address is 'edge1.internal'"),
    ('autotls_traefik_http_port', 0, 'autotls_traefik_http_port is 0: use a TCP port'),
    ('autotls_traefik_https_port', True, 'autotls_traefik_https_port is True'),
    ('autotls_traefik_https_port', 80, 'use another port than autotls_traefik_http_port'),
    ('autotls_traefik_dynamic_dir', '/etc/traefik/dyn amic', 'without blanks'),
    ('autotls_traefik_static_extra', ['log'], 'use a mapping'),
    ('autotls_traefik_static_extra', {'entryPoints': {}, 'log': {}},
     'autotls_traefik_static_extra sets entryPoints, which the role writes itself'),
    ('autotls_traefik_acme_storag', '/x', 'unknown variable(s) autotls_traefik_acme_storag'),
])
def test_bad_values_are_refused_naming_the_variable(variable, value, says):
    with pytest.raises(ConfigurationError) as caught:
        _config(**{variable: value})
    assert says in str(caught.value)


def test_the_filter_names_itself_and_takes_a_dict_only():
    render = FilterModule().filters()['traefik_static_config']
    assert render({'autotls_acme_directory': DIRECTORY})['certificatesResolvers']
    with pytest.raises(AnsibleFilterError, match='traefik_static_config: autotls_traefik_acme_challenge'):
        render({'autotls_acme_directory': DIRECTORY, 'autotls_traefik_acme_challenge': 'dns'})
    with pytest.raises(AnsibleFilterError, match='takes a dict'):
        render(['autotls_acme_directory'])
