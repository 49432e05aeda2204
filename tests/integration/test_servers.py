# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls_servers on one real SSH test host serving with nginx, HAProxy and Apache at once.

Debian's haproxy (master-worker, reloaded by SIGUSR2) and apache2 (mod_ssl, apache2ctl)
run inside the test host beside the nginx of the role nginx_tls, each on its own port;
a custom server shows the file layout and argv reload. What each serves is read from
inside the host with openssl s_client (serials, SNI). The host is reset afterwards, which
stops every process started in it.
"""

import os

import pytest

from testbed.fixtures_hosts import write_inventory
from testbed.hosts import link_hosts, reset_hosts
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HAPROXY_PORT = 8443
APACHE_PORT = 9443
BUNDLE_LOG = '/etc/autotls/bundle.log'

PLAYBOOK = '''
- hosts: all
  gather_facts: false
  roles:
    - role: autotls.acme.cert_deploy
    - role: autotls.acme.nginx_tls
'''

HAPROXY_CFG = '''global
    log stdout format raw local0 emerg
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend tls
    bind {address}:{port} ssl crt /etc/haproxy/default.pem crt /etc/haproxy/certs/
    http-request return status 200 content-type text/plain string haproxy
'''


@pytest.fixture
def host(test_hosts):
    """app3, fresh; reset afterwards (which stops the haproxy and apache2 started in it)."""
    app3 = test_hosts['app3']
    reset_hosts([app3])
    link_hosts(test_hosts)
    yield app3
    reset_hosts([app3])
    link_hosts(test_hosts)


def start_haproxy_and_apache(host, ca):
    cert, key = make_server_cert(ca[0], ca[1], names=('default.invalid',), ips=())
    host.write_file('/etc/haproxy/default.pem', cert_pem(cert) + key_pem(key), mode=0o600)
    host.write_file('/etc/haproxy/haproxy.cfg', HAPROXY_CFG.format(address=host.address, port=HAPROXY_PORT))
    host.run(['mkdir', '-p', '-m', '0755', '/etc/haproxy/certs'], check=True)
    host.run(['haproxy', '-W', '-D', '-f', '/etc/haproxy/haproxy.cfg', '-p', '/run/haproxy.pid'], check=True)
    host.write_file('/etc/apache2/ports.conf', 'Listen %s:%d\n' % (host.address, APACHE_PORT))
    host.run('a2enmod -q ssl >/dev/null && a2dissite -q 000-default && apache2ctl start', check=True)


def served_serial(host, port, name):
    """The serial the host serves on port for SNI name, read inside the host."""
    rc, out, err = host.run('openssl s_client -connect %s:%d -servername %s </dev/null 2>/dev/null'
                            ' | openssl x509 -noout -serial' % (host.address, port, name))
    assert rc == 0, err
    return int(out.strip().split('=', 1)[1], 16)


def serials(host, name):
    return [served_serial(host, port, name) for port in (443, HAPROXY_PORT, APACHE_PORT)]


def test_nginx_haproxy_apache_and_custom_on_one_host(host, run_playbook, ansible_env, tmp_path):
    ca = make_ca(common_name='autotls servers test CA')
    store = tmp_path / 'store'

    def issue(name, domains):
        cert, key = make_server_cert(ca[0], ca[1], names=tuple(domains), ips=())
        files = {'cert.pem': cert_pem(cert), 'chain.pem': cert_pem(ca[0]),
                 'fullchain.pem': cert_pem(cert) + cert_pem(ca[0]), 'privkey.pem': key_pem(key)}
        (store / name).mkdir(parents=True, exist_ok=True)
        for filename, data in files.items():
            (store / name / filename).write_bytes(data)
        os.chmod(store / name / 'privkey.pem', 0o600)
        return cert.serial_number, files

    web = {'name': 'web', 'domains': [host.fqdn]}
    alt = {'name': 'alt', 'domains': ['alt.' + host.fqdn]}
    servers = [
        'nginx',
        {'kind': 'haproxy', 'port': HAPROXY_PORT},
        {'kind': 'apache', 'listen': host.address, 'port': APACHE_PORT},
        {'kind': 'custom', 'name': 'bundle',
         'files': [{'path': '/etc/autotls/bundle/{name}.pem', 'parts': ['fullchain', 'key']}],
         'validate': ['/bin/sh', '-c', 'for f in /etc/autotls/bundle/*.pem; do openssl x509 -noout -in $f || exit 1; done'],
         'reload': ['/bin/sh', '-c', 'echo reloaded >> %s' % BUNDLE_LOG]},
    ]

    def play(expect_rc=0):
        inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[host], host_vars={host: {
            'autotls_cert_source_dir': str(store), 'autotls_nginx_listen_address': host.address,
            'autotls_host_certificates': [web, alt], 'autotls_servers': servers}})
        return run_playbook(PLAYBOOK, inventory=inventory, connection=None, env=ansible_env, expect_rc=expect_rc)

    def reloaded(result):
        """The servers reloaded: nginx by its handler, the others by their reload command."""
        names = [r['task'].rsplit(' : ', 1)[-1] for r in result.tasks(host=host.name)
                 if r['task'].endswith('reload nginx') and r['status'] != 'skipped']
        for r in result.tasks(host=host.name):
            if r['task'].endswith('Reload each server whose certificates changed') and r['status'] != 'skipped':
                names += [item['item']['name'] for item in r['result'].get('results', [])]
        return names

    start_haproxy_and_apache(host, ca)
    web1, web1_files = issue('web', web['domains'])
    alt1, _alt1_files = issue('alt', alt['domains'])

    # -- first deploy: every server checked and reloaded once, each serves both, SNI picks --
    first = play()
    assert reloaded(first) == ['reload nginx', 'haproxy', 'apache', 'bundle']
    assert serials(host, host.fqdn) == [web1] * 3
    assert serials(host, 'alt.' + host.fqdn) == [alt1] * 3
    assert host.read_file('/etc/haproxy/certs/web.pem', binary=True) == (
        web1_files['fullchain.pem'] + web1_files['privkey.pem'])
    assert host.run(['stat', '-c', '%a %U', '/etc/haproxy/certs/web.pem'])[1].split() == ['600', 'root']
    assert host.exists('/etc/apache2/sites-enabled/autotls-alt.conf')
    assert host.read_file('/etc/autotls/bundle/alt.pem', binary=True).startswith(_alt1_files['fullchain.pem'])
    assert host.read_file(BUNDLE_LOG) == 'reloaded\n'

    # -- nothing new: no change, no check, no reload --
    quiet = play()
    assert quiet.stats[host.name]['changed'] == 0, [r['task'] for r in quiet.changed]
    assert reloaded(quiet) == [] and host.read_file(BUNDLE_LOG) == 'reloaded\n'

    # -- HAProxy's configuration broken by hand: the renewal is put back for every server,
    #    the old certificate stays served everywhere, the failure names host, certificate, kind --
    cfg = host.read_file('/etc/haproxy/haproxy.cfg')
    host.write_file('/etc/haproxy/haproxy.cfg', cfg + '    no-such-keyword here\n')
    issue('web', web['domains'])
    broken = play(expect_rc=2)
    message = [r for r in broken.failed if r['host'] == host.name][-1]['result']['msg']
    assert message.startswith('Deploying certificate(s) web on %s failed the check of server haproxy '
                              '(kind haproxy)' % host.name), message
    assert 'no-such-keyword' in message
    assert host.read_file('/etc/haproxy/certs/web.pem', binary=True) == (
        web1_files['fullchain.pem'] + web1_files['privkey.pem'])
    assert host.read_file('/etc/autotls/certs/web/privkey.pem', binary=True) == web1_files['privkey.pem']
    assert reloaded(broken) == []
    assert serials(host, host.fqdn) == [web1] * 3

    # -- fixed: the renewal goes live on every server, each reloaded once --
    host.write_file('/etc/haproxy/haproxy.cfg', cfg)
    web3, _files = issue('web', web['domains'])
    fixed = play()
    assert reloaded(fixed) == ['reload nginx', 'haproxy', 'apache', 'bundle']
    assert serials(host, host.fqdn) == [web3] * 3
    assert serials(host, 'alt.' + host.fqdn) == [alt1] * 3
    assert host.read_file(BUNDLE_LOG) == 'reloaded\nreloaded\n'
