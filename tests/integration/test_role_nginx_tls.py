# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role nginx_tls on a real SSH test host: port 80 for ACME, TLS servers for deployed files.

The host's nginx is checked from outside over its address (HTTP with a Host header, TLS
with SNI against the test's own CA), and from inside (`nginx -t`, the written files).
"""

import http.client
import re
import socket
import ssl

import pytest
from cryptography import x509

from testbed.fixtures_hosts import write_inventory
from testbed.hosts import link_hosts, reset_hosts
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONF_DIR = '/etc/nginx/conf.d'
CERT_DIR = '/etc/autotls/certs'
CHALLENGES = '/var/www/acme/.well-known/acme-challenge'

MAIN_PLAYBOOK = '''
- hosts: all
  gather_facts: false
  roles:
    - role: autotls.acme.nginx_tls
'''

ACME_PLAYBOOK = '''
- hosts: all
  gather_facts: false
  tasks:
    - name: Port 80 only
      ansible.builtin.include_role:
        name: autotls.acme.nginx_tls
        tasks_from: acme
'''


@pytest.fixture
def host(test_hosts):
    """app1, fresh (no nginx running, no autotls files); reset again afterwards."""
    app1 = test_hosts['app1']
    reset_hosts([app1])
    link_hosts(test_hosts)
    yield app1
    reset_hosts([app1])
    link_hosts(test_hosts)


def http_get(address, host_header, path):
    """GET over plain HTTP to address:80: (status, location, body)."""
    conn = http.client.HTTPConnection(address, 80, timeout=10)
    try:
        conn.request('GET', path, headers={'Host': host_header})
        response = conn.getresponse()
        return response.status, response.getheader('Location'), response.read().decode()
    finally:
        conn.close()


def tls_peer(address, server_name, cafile):
    """Connect to address:443 with SNI, verifying against cafile: (serial, ALPN protocol)."""
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(['h2', 'http/1.1'])
    with socket.create_connection((address, 443), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
            return x509.load_der_x509_certificate(der).serial_number, tls.selected_alpn_protocol()


def listen_lines(host):
    lines = []
    for name in ('autotls-acme.conf', 'autotls-tls-site.conf'):
        if host.exists('%s/%s' % (CONF_DIR, name)):
            lines += [line.strip() for line in host.read_file('%s/%s' % (CONF_DIR, name)).splitlines()
                      if line.strip().startswith('listen')]
    return lines


def handler_runs(result, host):
    """Names of the nginx_tls handlers that ran on host, in order (validate, reload)."""
    return [r['task'].rsplit(' : ', 1)[-1] for r in result.tasks(host=host.name)
            if r['task'].endswith(('validate nginx configuration', 'reload nginx'))
            and r['status'] != 'skipped']


def nginx_t(host):
    rc, out, err = host.run(['nginx', '-t'])
    assert rc == 0, out + err


def test_port_80_then_tls_once_files_exist(host, run_playbook, ansible_env, tmp_path):
    ca_cert, ca_key = make_ca(common_name='autotls nginx_tls test CA')
    cafile = tmp_path / 'ca.pem'
    cafile.write_bytes(cert_pem(ca_cert))
    certificate = {'name': 'site', 'domains': [host.fqdn, 'www.' + host.fqdn]}
    host_vars = {'autotls_nginx_listen_address': host.address, 'autotls_nginx_http2': True,
                 'autotls_host_certificates': [certificate]}
    env = dict(ansible_env, ANSIBLE_PIPELINING='True')

    def play(playbook=MAIN_PLAYBOOK, expect_rc=0, **variables):
        inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[host],
                                    host_vars={host: dict(host_vars, **variables)})
        return run_playbook(playbook, inventory=inventory, connection=None, env=env,
                            expect_rc=expect_rc)

    # -- port 80 only (the acme entry point), on a fresh host --
    first = play(ACME_PLAYBOOK)
    assert first.stats[host.name]['changed'] > 0
    assert host.exists(CONF_DIR + '/autotls-acme.conf')
    assert not host.exists(CONF_DIR + '/autotls-tls-site.conf')
    nginx_t(host)
    # Every listen is on the host's address, none on [::] or a bare port.
    assert listen_lines(host) == ['listen %s:80;' % host.address]

    token = 'tok-9aZ_b-1'
    host.write_file('%s/%s' % (CHALLENGES, token), token + '.thumbprint')
    assert http_get(host.address, host.fqdn, '/.well-known/acme-challenge/' + token) == (
        200, None, token + '.thumbprint')
    assert http_get(host.address, 'www.' + host.fqdn, '/.well-known/acme-challenge/' + token)[0] == 200
    # A missing token is a 404, not a redirect; anything else goes to https.
    assert http_get(host.address, host.fqdn, '/.well-known/acme-challenge/nope')[0] == 404
    assert http_get(host.address, host.fqdn, '/some/page?x=1')[:2] == (
        301, 'https://%s/some/page?x=1' % host.fqdn)

    # -- main without certificate files: nothing to add, nginx -t still passes --
    again = play()
    assert again.stats[host.name]['changed'] == 0, [r['task'] for r in again.changed]
    assert not host.exists(CONF_DIR + '/autotls-tls-site.conf')
    nginx_t(host)

    # -- the files appear: the TLS server is written, validated, reloaded --
    cert, key = make_server_cert(ca_cert, ca_key, names=tuple(certificate['domains']), ips=())
    host.write_file('%s/site/fullchain.pem' % CERT_DIR, cert_pem(cert) + cert_pem(ca_cert))
    host.write_file('%s/site/privkey.pem' % CERT_DIR, key_pem(key), mode=0o600)
    with_tls = play()
    assert with_tls.stats[host.name]['changed'] > 0
    assert handler_runs(with_tls, host) == ['validate nginx configuration', 'reload nginx']
    conf = host.read_file(CONF_DIR + '/autotls-tls-site.conf')
    assert 'ssl_certificate %s/site/fullchain.pem;' % CERT_DIR in conf
    assert 'ssl_certificate_key %s/site/privkey.pem;' % CERT_DIR in conf
    assert re.search(r'ssl_protocols TLSv1\.2 TLSv1\.3;', conf)
    assert 'root /var/www/html;' in conf
    assert listen_lines(host) == ['listen %s:80;' % host.address,
                                  'listen %s:443 ssl http2;' % host.address]   # nginx 1.22 syntax
    nginx_t(host)
    assert tls_peer(host.address, host.fqdn, str(cafile)) == (cert.serial_number, 'h2')
    assert tls_peer(host.address, 'www.' + host.fqdn, str(cafile))[0] == cert.serial_number

    steady = play()
    assert steady.stats[host.name]['changed'] == 0, [r['task'] for r in steady.changed]
    assert handler_runs(steady, host) == []

    # -- a broken server block (and a new, good one): nginx -t fails at once; the old block is
    #    put back, the new one removed, nothing reloaded, and the next run fails again --
    good_conf = host.read_file(CONF_DIR + '/autotls-tls-site.conf')
    fresh = {'name': 'fresh', 'domains': ['fresh.' + host.fqdn]}
    fresh_cert, fresh_key = make_server_cert(ca_cert, ca_key, names=tuple(fresh['domains']), ips=())
    host.write_file('%s/fresh/fullchain.pem' % CERT_DIR, cert_pem(fresh_cert) + cert_pem(ca_cert))
    host.write_file('%s/fresh/privkey.pem' % CERT_DIR, key_pem(fresh_key), mode=0o600)
    broken_certificates = [dict(certificate, nginx={'extra': ['no_such_directive on;']}), fresh]
    for attempt in ('first', 'next'):
        broken = play(expect_rc=2, autotls_host_certificates=broken_certificates)
        assert handler_runs(broken, host) == [], attempt
        message = [r for r in broken.failed if r['host'] == host.name][-1]['result']['msg']
        assert message.startswith('nginx on %s rejects the TLS server(s) of site, fresh' % host.name), message
        assert 'no_such_directive' in message and 'nothing was reloaded' in message
        assert host.read_file(CONF_DIR + '/autotls-tls-site.conf') == good_conf
        assert not host.exists(CONF_DIR + '/autotls-tls-fresh.conf')
        rc, out, err = host.run(['ls', '-A', CONF_DIR])
        assert sorted(out.split()) == ['autotls-acme.conf', 'autotls-tls-site.conf'], out   # no backups left
        nginx_t(host)
        assert tls_peer(host.address, host.fqdn, str(cafile))[0] == cert.serial_number
    host.run(['rm', '-r', CERT_DIR + '/fresh'], check=True)

    # Per-certificate proxy_pass and extra lines; fixing the block reloads again.
    fixed = play(autotls_host_certificates=[
        dict(certificate, nginx={'proxy_pass': 'http://127.0.0.1:9', 'extra': ['client_max_body_size 5m;']})])
    assert handler_runs(fixed, host) == ['validate nginx configuration', 'reload nginx']
    conf = host.read_file(CONF_DIR + '/autotls-tls-site.conf')
    assert 'proxy_pass http://127.0.0.1:9;' in conf and 'root ' not in conf
    assert 'client_max_body_size 5m;' in conf

    # -- the certificate goes away: its server block goes too --
    host.run(['rm', '-r', CERT_DIR + '/site'], check=True)
    gone = play()
    assert not host.exists(CONF_DIR + '/autotls-tls-site.conf')
    assert handler_runs(gone, host) == ['validate nginx configuration', 'reload nginx']
    nginx_t(host)
    with pytest.raises(OSError):
        tls_peer(host.address, host.fqdn, str(cafile))
