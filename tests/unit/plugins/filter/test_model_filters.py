# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters that carry the model of a declared certificate into roles and playbooks."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.filter.certificate_file import certificate_file
from ansible_collections.autotls.acme.plugins.filter.certificate_files import certificate_files
from ansible_collections.autotls.acme.plugins.filter.declared_certificates import declared_certificates
from ansible_collections.autotls.acme.plugins.filter.dns_names import dns_names
from ansible_collections.autotls.acme.plugins.filter.file_mode import file_mode
from ansible_collections.autotls.acme.plugins.filter.issuance_entries import issuance_entries

# As docs/private-ca-http01.md and the role READMEs write it.
GUIDE = {'name': 'app1', 'domains': ['app1.internal.example.com'], 'challenge': 'http-01',
         'owner': 'root', 'group': 'www-data', 'key_mode': '0640', 'nginx': {'proxy_pass': 'http://127.0.0.1:8080'}}


def test_the_module_gets_only_the_issuance_keys():
    declared = declared_certificates({'app1': {'autotls_host_certificates': [GUIDE]}}, ['app1'])
    assert issuance_entries(declared) == [{'name': 'app1', 'domains': ['app1.internal.example.com'],
                                           'challenge': 'http-01', 'key_type': 'ec256', 'hosts': ['app1']}]
    assert issuance_entries(iter(declared)) == issuance_entries(declared)   # selectattr gives a generator


def test_declared_certificates_refuses_bad_entries_as_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="Certificate 'app1' in autotls_certificates of host web1: "
                                                 "domains must be a list"):
        declared_certificates({'web1': {'autotls_certificates': [dict(GUIDE, domains='a.example.com')]}}, ['web1'])


def test_layout_filters():
    assert certificate_files('') == ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']
    assert certificate_file('/etc/autotls/certs/app1', 'fullchain') == '/etc/autotls/certs/app1/fullchain.pem'
    with pytest.raises(AnsibleFilterError):
        certificate_file('/x', 'pem')


def test_dns_names_and_file_mode():
    assert dns_names(['A.example.com.', 'a.example.com']) == ['a.example.com']
    with pytest.raises(AnsibleFilterError, match='must be a list'):
        dns_names('a.example.com', 'autotls_nginx_server_names')
    # A setting that is not a certificate is named as itself, not as "A certificate in ...".
    with pytest.raises(AnsibleFilterError, match=r"^autotls_nginx_server_names: domain 'a b;' contains white space"):
        dns_names(['a b;'], 'autotls_nginx_server_names')
    assert file_mode('640') == '0640'
    with pytest.raises(AnsibleFilterError, match='quote it'):
        file_mode(660, 'autotls_key_mode', key=True)


def test_the_issuers_of_a_hosts_variables_and_the_account_issuer_by_name():
    from ansible_collections.autotls.acme.plugins.filter.issuers import account_issuer, issuer_settings
    setup = issuer_settings({'autotls_issuers': [{'directory': 'letsencrypt'}, {'directory': 'zerossl'}]}, '/srv/a')
    assert setup['names'] == ['letsencrypt', 'zerossl'] and setup['form'] == 'issuers'
    assert account_issuer(setup, 'zerossl')['key_file'] == '/srv/a/account-zerossl.pem'
    with pytest.raises(AnsibleFilterError, match="autotls_account_issuer 'le' is not one of the issuers: letsencrypt, zerossl"):
        account_issuer(setup, 'le')
    with pytest.raises(AnsibleFilterError, match='No CA is set'):
        issuer_settings({}, '/srv/a')
