# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The traefik server kind on the host: its dynamic file, the pair check before the swap, the
served-serial confirmation after it (with a fake Traefik: the real one is in the integration test)."""

import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._deploy import traefik
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import (
    CertFile, FormFile, FormFiles, HostCertificates, Install,
)
from ansible_collections.autotls.acme.plugins.module_utils._model.servers import validate_servers
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

FILES = ('cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem')


@pytest.fixture(scope='module')
def ca():
    return make_ca()


def issue(ca, name='app1.example.test'):
    cert, key = make_server_cert(*ca, names=(name,), ips=())
    return cert, {'cert.pem': cert_pem(cert), 'chain.pem': cert_pem(ca[0]),
                  'fullchain.pem': cert_pem(cert) + cert_pem(ca[0]), 'privkey.pem': key_pem(key)}


def server(tmp_path, **settings):
    [normalized] = validate_servers([dict({'kind': 'traefik', 'dynamic_dir': str(tmp_path / 'dynamic')}, **settings)])
    return normalized


def test_the_kind_has_its_settings_and_refuses_bad_ones():
    [default] = validate_servers(['traefik'])
    assert default == {'kind': 'traefik', 'name': 'traefik', 'validate': [], 'reload': [], 'notify': '',
                       'port': 443, 'dynamic_dir': '/etc/traefik/dynamic', 'address': '127.0.0.1', 'wait': 30}
    with pytest.raises(ConfigurationError, match="port of server 'traefik' is where Traefik serves"):
        validate_servers([{'kind': 'traefik', 'port': None}])
    with pytest.raises(ConfigurationError, match="wait of server 'traefik' must be a number of seconds from 1 to 600"):
        validate_servers([{'kind': 'traefik', 'wait': 0}])
    with pytest.raises(ConfigurationError, match="dynamic_dir of server 'traefik' must be an absolute path"):
        validate_servers([{'kind': 'traefik', 'dynamic_dir': 'dynamic'}])


def test_the_dynamic_file_is_json_that_names_its_certificate_and_check_name(tmp_path):
    [config] = traefik_kind().configs(server(tmp_path), [{'name': 'wild', 'domains': ['*.qa1.example.test']}],
                                      '/etc/autotls/certs')
    assert config['path'] == str(tmp_path / 'dynamic' / 'autotls-wild.yml') and config['name'] == 'wild'
    first, body = config['content'].split('\n', 1)
    assert first == '# Managed by autotls.acme (server traefik): certificate wild, checked as autotls-check.qa1.example.test.'
    assert json.loads(body) == {'tls': {'certificates': [{'certFile': '/etc/autotls/certs/wild/fullchain.pem',
                                                          'keyFile': '/etc/autotls/certs/wild/privkey.pem'}]}}
    assert traefik.parse(config['content'], config['path']) == (
        'wild', 'autotls-check.qa1.example.test', '/etc/autotls/certs/wild/fullchain.pem',
        '/etc/autotls/certs/wild/privkey.pem')
    with pytest.raises(ConfigurationError, match='does not parse as a dynamic file'):
        traefik.parse(first + '\ntls: {certificates: []}\n', '/d/autotls-wild.yml')
    with pytest.raises(ConfigurationError, match='lacks its first line'):
        traefik.parse(body, '/d/autotls-wild.yml')


def traefik_kind():
    from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import KINDS
    return KINDS['traefik']


def test_a_pair_must_load_as_a_tls_server_loads_it(ca):
    _cert, good = issue(ca)
    _other, other = issue(ca)
    traefik.check_pair(good['fullchain.pem'], good['privkey.pem'], '/c/app1')
    with pytest.raises(ConfigurationError, match='/c/app1/fullchain.pem and /c/app1/privkey.pem do not load'):
        traefik.check_pair(good['fullchain.pem'], other['privkey.pem'], '/c/app1')
    with pytest.raises(ConfigurationError, match='/c/app1/fullchain.pem holds no PEM certificate'):
        traefik.check_pair(b'garbage', good['privkey.pem'], '/c/app1')
    with pytest.raises(ConfigurationError, match='do not load'):
        traefik.check_pair(good['fullchain.pem'], None, '/c/app1')


def test_the_serial_is_read_from_der_as_cryptography_reads_it(ca):
    cert, files = issue(ca)
    der = traefik.leaf_der(files['fullchain.pem'])
    assert der == cert.public_bytes(serialization.Encoding.DER)
    assert traefik.der_serial(der) == '%x' % cert.serial_number
    assert traefik.der_serial(ca[0].public_bytes(serialization.Encoding.DER)) == '%x' % ca[0].serial_number


def test_the_wait_is_bounded_and_says_what_is_served(ca):
    old, _files = issue(ca)
    new, _files = issue(ca)
    old_der, new_der = (c.public_bytes(serialization.Encoding.DER) for c in (old, new))
    now = [0.0]
    served = [ConnectionRefusedError('refused'), old_der, new_der]

    def fetch(_address, _port, _name):
        value = served.pop(0) if len(served) > 1 else served[0]
        if isinstance(value, Exception):
            raise value
        return value

    def sleep(seconds):
        now[0] += seconds

    assert traefik.wait_served('127.0.0.1', 443, 'a', new_der, 5, clock=lambda: now[0], sleep=sleep,
                               fetch=fetch) == (True, '%x' % new.serial_number)
    served[:] = [old_der]
    assert traefik.wait_served('127.0.0.1', 443, 'a', new_der, 1, clock=lambda: now[0], sleep=sleep,
                               fetch=fetch) == (False, 'serial %x' % old.serial_number)
    served[:] = [ConnectionRefusedError('refused')]
    ok, seen = traefik.wait_served('127.0.0.1', 443, 'a', new_der, 1, clock=lambda: now[0], sleep=sleep, fetch=fetch)
    assert not ok and seen.startswith('no certificate (refused')


def install_on(tmp_path, ca, settings, versions, wait):
    """Install certificates app1 and app2 with a traefik server through the cert_files pieces."""
    srv = server(tmp_path, **settings)
    new, certs = {}, {}
    for name, version in versions.items():
        certs[name], files = issue(ca, '%s.example.test' % name)
        new.update({'%s/%s' % (name, f): data for f, data in files.items()})
        if version == 'broken':
            new['%s/privkey.pem' % name] = issue(ca)[1]['privkey.pem']
    configs = traefik_kind().configs(srv, [{'name': n, 'domains': ['%s.example.test' % n]} for n in versions],
                                     str(tmp_path / 'certs'))
    entries = [dict(path=c['path'], name=c['name'], mode='0644', member='forms/%s' % c['name'], servers=[srv['name']])
               for c in configs]
    new.update({'forms/%s' % c['name']: c['content'].encode() for c in configs})
    files = [CertFile({'path': '%s/%s' % (n, f), 'mode': '0600' if f == 'privkey.pem' else '0644'})
             for n in versions for f in FILES]
    with HostCertificates(str(tmp_path / 'certs')) as host:
        refused = traefik.precheck_install([srv], host, files, entries, new.__getitem__)
        skipped = {r['name'] for r in refused}
        job = Install(host, [f for f in files if f.name not in skipped], new.__getitem__).run()
        forms = FormFiles([FormFile(e) for e in entries if e['name'] not in skipped], new.__getitem__).run()
        changed = {srv['name']: list(job.changed)}
        served, failed = traefik.confirm_install([srv], job, forms, changed) if wait else ({}, [])
        job.commit()
    return refused, served, failed, changed, certs


def test_a_broken_pair_is_refused_before_anything_changes(tmp_path, ca):
    refused, _served, _failed, changed, _certs = install_on(tmp_path, ca, {}, {'app1': 'ok', 'app2': 'broken'},
                                                            wait=False)
    assert [(r['name'], r['server'], r['kind']) for r in refused] == [('app2', 'traefik', 'traefik')]
    assert 'app2/fullchain.pem and' in refused[0]['error'] and 'Nothing was changed for it' in refused[0]['error']
    assert changed == {'traefik': ['app1']}
    assert not os.path.exists(tmp_path / 'certs' / 'app2') and not os.path.exists(tmp_path / 'dynamic' / 'autotls-app2.yml')
    assert os.path.exists(tmp_path / 'dynamic' / 'autotls-app1.yml')


def test_what_traefik_does_not_serve_in_time_goes_back(tmp_path, ca, monkeypatch):
    seen = {}

    def wait(address, port, name, expected, timeout):
        seen[name] = (address, port, timeout)
        if name == 'app1.example.test':
            return True, '%x' % x509.load_der_x509_certificate(expected).serial_number
        return False, 'serial 1234'

    monkeypatch.setattr(traefik, 'wait_served', wait)
    refused, served, failed, changed, certs = install_on(
        tmp_path, ca, {'address': '127.0.0.5', 'port': 8443, 'wait': 7}, {'app1': 'ok', 'app2': 'ok'}, wait=True)
    assert refused == [] and served == {'traefik': {'app1': '%x' % certs['app1'].serial_number}}
    assert seen['app2.example.test'][:2] == ('127.0.0.5', 8443) and 0 < seen['app2.example.test'][2] <= 7
    [back] = failed
    assert (back['name'], back['kind']) == ('app2', 'traefik')
    assert back['error'].startswith('Traefik at 127.0.0.5:8443 serves serial 1234 for app2.example.test, not the new '
                                    'serial %x, 7 s after the change' % certs['app2'].serial_number)
    assert changed == {'traefik': ['app1']}
    # app2 had no files before: its set and its dynamic file are gone again.
    assert not os.path.exists(tmp_path / 'certs' / 'app2') and not os.path.exists(tmp_path / 'dynamic' / 'autotls-app2.yml')
    assert os.path.exists(tmp_path / 'dynamic' / 'autotls-app1.yml')
