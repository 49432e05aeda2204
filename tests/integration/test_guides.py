# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guides' inventories, as written, run end to end against the test bed.

The inventory files are taken from the YAML blocks of docs/private-ca-http01.md and
docs/dns01-route53.md (each block names its file in a ``# <file>`` comment), so editing a
guide changes this test. Only what must point at the test bed is changed, and all of it is
in TESTBED below: for each inventory file, ``replace`` (keys the guide sets, which must
still be there) and ``add`` (keys the test bed needs that the guide leaves out, which the
guide must not set).

docs/servers.md has no hosts.yml: its test takes the servers of its host_vars blocks and
serves them all from one test host, each on its own address or port.
"""

import os

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testbed.doc_examples import REPO_ROOT, guide_inventory, markdown_examples
from testbed.fixtures_hosts import write_inventory
from testbed.hosts import link_hosts, reset_hosts
from testbed.processes import wait_until
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert
from testbed.tls import served_serial as tls_served_serial
from testbed.traefik import verified_serial_inside

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ONBOARD = os.path.join(REPO, 'playbooks', 'onboard.yml')
RENEW = os.path.join(REPO, 'playbooks', 'renew.yml')
RETIRE = os.path.join(REPO, 'playbooks', 'retire.yml')
TRAEFIK_ACME = os.path.join(REPO, 'playbooks', 'traefik_acme.yml')
ISSUED = 'autotls.acme.issue : Answer the challenges, finalize and store the certificates'
ORDERED = 'autotls.acme.issue : Create the orders of the certificates that are due'


def _host_vars(host):
    """A test host's connection, and nginx bound to its own address (the hosts share one
    network); the JVM makes keytool slow, and the ca_trust role's own tests cover Java."""
    return dict(host.inventory_vars(), autotls_nginx_listen_address=host.address, autotls_nginx_ipv6=False,
                autotls_ca_trust_java=False)


def TESTBED(guide, **bed):  # pylint: disable=invalid-name
    """The one mapping from a guide's inventory to the test bed: {file: {replace, add}}."""
    if guide == 'docs/private-ca-http01.md':
        stepca, hosts, store = bed['stepca'], bed['hosts'], bed['store']
        return {
            'hosts.yml': {'hosts': {name: _host_vars(hosts[name]) for name in ('app1', 'app2')}},
            'group_vars/all.yml': {
                'replace': {'autotls_acme_directory': stepca.directory_url,
                            'autotls_ca_root_fingerprint': stepca.root_fingerprint,
                            'autotls_store': {'type': 'local', 'path': store}},
            },
        }
    if guide == 'docs/dns01-route53.md':
        pebble, testbed, host, store, key = bed['pebble'], bed['testbed'], bed['host'], bed['store'], bed['key']
        return {
            # The guide shows no hosts: one test host in the group that declares the certificate.
            'hosts.yml': {'add': {'all': {'children': {'qa1': {'hosts': {host.name: _host_vars(host)}}}}}},
            'group_vars/all.yml': {
                'replace': {'autotls_acme_directory': pebble.directory_url,
                            'autotls_route53': {'endpoint_url': testbed.moto.endpoint_url}},
                'add': {'autotls_acme_ca_bundle': pebble.ca_bundle,
                        'autotls_dns_servers': [testbed.dns.address],
                        'autotls_store': {'type': 'local', 'path': store},
                        # the operator's vault
                        'vault_acme_account_key': key,
                        'vault_acme_dns_external_id': 'autotls-testbed'},
            },
        }
    if guide == 'docs/traefik.md':
        stepca, host, store = bed['stepca'], bed['host'], bed['store']
        return {
            'hosts.yml': {'hosts': {'edge1': _host_vars(host)}},
            'group_vars/traefik.yml': {
                'replace': {'autotls_acme_directory': stepca.directory_url,
                            'autotls_ca_root_fingerprint': stepca.root_fingerprint,
                            'autotls_store': {'type': 'local', 'path': store}},
            },
            'host_vars/edge1.yml': {
                'replace': {'autotls_traefik_listen_address': host.address},
                # A test host has no service manager: the test starts Traefik itself.
                'add': {'autotls_traefik_restart': False},
            },
        }
    raise AssertionError('no test bed mapping for %s' % guide)


def write_guide_inventory(guide, directory, mapping):
    """Write the guide's inventory files under directory, mapped; returns hosts.yml's path."""
    files = guide_inventory(guide)
    for name, change in mapping.items():
        data = files.setdefault(name, {})
        if 'hosts' in change:       # hosts.yml: each host's connection replaces its address
            for group in data['all']['children'].values():
                for host_name in group['hosts']:
                    assert 'ansible_host' in group['hosts'][host_name], '%s: %s has no ansible_host' % (guide, host_name)
                    group['hosts'][host_name] = change['hosts'][host_name]
        for key, value in change.get('replace', {}).items():
            assert key in data, '%s no longer sets %s in %s: update the test bed mapping' % (guide, key, name)
            if isinstance(data[key], dict) and isinstance(value, dict):
                data[key] = dict(data[key], **value)
            else:
                data[key] = value
        for key, value in change.get('add', {}).items():
            assert key not in data, '%s now sets %s in %s: update the test bed mapping' % (guide, key, name)
            data[key] = value
    for name, data in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as handle:
            yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False)
    return os.path.join(directory, 'hosts.yml')


def _changes(result, names):
    return {name: result.stats[name]['changed'] for name in names}


@pytest.mark.timeout(1200)
def test_private_ca_guide_onboards_then_renews_quietly(stepca, test_hosts, route53, run_playbook, tmp_path):
    app1, app2 = test_hosts['app1'], test_hosts['app2']
    for host in (app1, app2):
        host.reset()
    # The guide's DNS: each service name resolves, for the CA, to the host that serves it.
    zone = route53.create_zone('internal.example.com')
    route53.upsert_record(zone, 'app1.internal.example.com', 'A', [app1.address])
    store = str(tmp_path / 'srv-autotls')
    inventory = write_guide_inventory('docs/private-ca-http01.md', str(tmp_path / 'inventory'),
                                      TESTBED('docs/private-ca-http01.md', stepca=stepca, hosts=test_hosts,
                                              store=store))

    onboard = run_playbook(ONBOARD, inventory=inventory, connection=None)
    [issued] = onboard.task(ISSUED)['result']['certificates']
    assert issued['name'] == 'app1' and issued['action'] == 'issue'
    assert issued['issuer'] == 'autotls testbed step-ca intermediate'
    assert tls_served_serial(app1.address, 'app1.internal.example.com') == issued['serial']
    # The guide's nginx entry shapes app1's TLS server; the key is 0600 as the guide says.
    rc, out, err = app1.run(['sh', '-c', 'cat /etc/nginx/conf.d/*.conf'])
    assert rc == 0 and 'proxy_pass http://127.0.0.1:8080' in out, out + err
    assert oct(os.stat(app1.path('/etc/autotls/certs/app1/privkey.pem')).st_mode & 0o777) == '0o600'
    assert os.path.exists(os.path.join(store, 'certs', 'app1', 'fullchain.pem'))
    # "curl https://app1.internal.example.com/ works without --cacert" from any onboarded host
    # (the TLS handshake: nothing listens behind proxy_pass, so nginx answers 502).
    rc, out, err = app2.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--resolve',
                             'app1.internal.example.com:443:%s' % app1.address, 'https://app1.internal.example.com/'])
    assert rc == 0 and out == '502', out + err

    renew = run_playbook(RENEW, inventory=inventory, connection=None)
    assert {c['action'] for c in renew.task(ORDERED)['result']['certificates']} == {'none'}
    assert _changes(renew, ['app1', 'app2']) == {'app1': 0, 'app2': 0}, [(r['host'], r['task']) for r in renew.changed]


@pytest.mark.timeout(900)
def test_dns01_guide_renews_through_route53(pebble_factory, test_hosts, route53, testbed, run_playbook, tmp_path):
    app3 = test_hosts['app3']
    app3.reset()
    pebble = pebble_factory()
    route53.create_zone('qa1.example.com')
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    store = str(tmp_path / 'store')
    inventory = write_guide_inventory('docs/dns01-route53.md', str(tmp_path / 'inventory'),
                                      TESTBED('docs/dns01-route53.md', pebble=pebble, testbed=testbed, host=app3,
                                              store=store, key=key))

    first = run_playbook(RENEW, inventory=inventory, connection=None)
    [issued] = first.task(ISSUED)['result']['certificates']
    assert issued['name'] == 'qa1-wildcard' and issued['action'] == 'issue'
    assert sorted(issued['domains']) == ['*.qa1.example.com', 'qa1.example.com']
    assert issued['issuer'].startswith('Pebble')
    assert route53.txt_values('_acme-challenge.qa1.example.com') == set()
    assert os.path.exists(app3.path('/etc/autotls/certs/qa1-wildcard/fullchain.pem'))

    again = run_playbook(RENEW, inventory=inventory, connection=None)
    assert {c['action'] for c in again.task(ORDERED)['result']['certificates']} == {'none'}
    assert _changes(again, [app3.name]) == {app3.name: 0}, [(r['host'], r['task']) for r in again.changed]


def _guide_file(guide, prefix):
    """(path, text) of the guide's YAML block whose first line is the comment '# <prefix>...'."""
    for example in markdown_examples(os.path.join(REPO_ROOT, guide)):
        first = example.text.splitlines()[0]
        if first.startswith('# ' + prefix):
            return first[2:].split()[0], example.text
    raise AssertionError('%s has no block starting with "# %s"' % (guide, prefix))


@pytest.mark.timeout(600)
def test_traefik_guide_lets_traefik_issue_from_step_ca(stepca, test_hosts, route53, run_playbook, host_traefik,
                                                       tmp_path):
    edge = test_hosts['app2']
    edge.reset()
    name = 'app1.internal.example.com'
    # The guide's DNS: the name Traefik serves resolves, for the CA, to the Traefik host.
    zone = route53.create_zone('internal.example.com')
    route53.upsert_record(zone, name, 'A', [edge.address])
    inventory = write_guide_inventory('docs/traefik.md', str(tmp_path / 'inventory'),
                                      TESTBED('docs/traefik.md', stepca=stepca, host=edge,
                                              store=str(tmp_path / 'srv-autotls')))

    first = run_playbook(TRAEFIK_ACME, inventory=inventory, connection=None)
    assert first.stats['edge1']['changed'] > 0
    acme = yaml.safe_load(edge.read_file('/etc/traefik/traefik.yml'))['certificatesResolvers']['autotls']['acme']
    assert acme['caServer'] == stepca.directory_url and 'caCertificates' not in acme  # trust: the host's store

    # The guide's router, as the operator writes it; Traefik started as its service would.
    path, router = _guide_file('docs/traefik.md', '/etc/traefik/dynamic/')
    edge.write_file(path, router)
    traefik = host_traefik(edge)
    traefik.wait_listening(443)
    # From inside the host: the served chain verifies against step-ca's root alone, and
    # against the host's own trust store (ca_trust put the root there).
    serial = wait_until(lambda: verified_serial_inside(edge, name, cafile=stepca.root_path)[0], 60,
                        'Traefik to serve a certificate from step-ca for %s' % name, process=traefik.process)
    assert verified_serial_inside(edge, name) == (serial, '')
    assert tls_served_serial(edge.address, name) == serial
    assert oct(os.stat(edge.path('/etc/traefik/acme.json')).st_mode & 0o777) == '0o600'

    again = run_playbook(TRAEFIK_ACME, inventory=inventory, connection=None)
    assert _changes(again, ['edge1']) == {'edge1': 0}, [(r['host'], r['task']) for r in again.changed]


# ---- docs/servers.md: nginx, HAProxy, Apache and a custom server on one host ----

HAPROXY_PORT = 8443
APACHE_PORT = 9443
BUNDLE_LOG = '/etc/autotls/bundle.log'

SERVERS_PLAYBOOK = '''
- hosts: all
  gather_facts: false
  roles:
    - role: autotls.acme.cert_deploy
    - role: autotls.acme.nginx_tls
'''

# The drift repair of renew.yml after a deploy (the serials to serve are the store's).
DRIFT_PLAYBOOK = '''
- hosts: all
  gather_facts: false
  vars:
    __autotls_store_path: /nonexistent     # autotls_cert_source_dir is set
  roles:
    - role: autotls.acme.cert_deploy
  tasks:
    - name: Find hosts that still serve another certificate than the store's
      ansible.builtin.include_tasks: %s
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
def servers_host(test_hosts):
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


def any_serials(host, name):
    """The serial each port serves for SNI name, or None where the handshake gives none."""
    found = []
    for port in (443, HAPROXY_PORT, APACHE_PORT):
        rc, out, _err = host.run('openssl s_client -connect %s:%d -servername %s </dev/null 2>/dev/null'
                                 ' | openssl x509 -noout -serial' % (host.address, port, name))
        found.append(int(out.strip().split('=', 1)[1], 16) if rc == 0 and '=' in out else None)
    return found


@pytest.mark.timeout(600)
def test_servers_guide_nginx_haproxy_apache_and_custom_on_one_host(
        servers_host, run_playbook, ansible_env, tmp_path):
    """docs/servers.md's servers on one host: nginx and HAProxy as edge1 has them, Apache as
    intranet1 has it (on the test host's address and its own port), and a custom server.
    Then one certificate leaves the inventory and retire.yml takes it off every server."""
    host = servers_host
    ca = make_ca(common_name='autotls servers test CA')
    guide = guide_inventory('docs/servers.md')
    store = tmp_path / 'store' / 'certs'

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
    edge = guide['host_vars/edge1.yml']['autotls_servers']
    assert edge == ['nginx', {'kind': 'haproxy', 'port': HAPROXY_PORT}], 'update the test: %r' % edge
    apache, = guide['host_vars/intranet1.yml']['autotls_servers']
    servers = edge + [
        dict(apache, listen=host.address, port=APACHE_PORT),
        {'kind': 'custom', 'name': 'bundle',
         'files': [{'path': '/etc/autotls/bundle/{name}.pem', 'parts': ['fullchain', 'key']}],
         'validate': ['/bin/sh', '-c', 'for f in /etc/autotls/bundle/*.pem; do openssl x509 -noout -in $f || exit 1; done'],
         'reload': ['/bin/sh', '-c', 'echo reloaded >> %s' % BUNDLE_LOG]},
    ]

    def play(expect_rc=0, playbook=SERVERS_PLAYBOOK, **variables):
        inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[host], host_vars={host: dict({
            'autotls_cert_source_dir': str(store), 'autotls_nginx_listen_address': host.address,
            'autotls_host_certificates': [web, alt], 'autotls_servers': servers}, **variables)})
        return run_playbook(playbook, inventory=inventory, connection=None, env=ansible_env, expect_rc=expect_rc)

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

    # -- fixed: the renewal goes live on every server, each reloaded once; but HAProxy's
    #    reload does nothing this time, so HAProxy alone still serves the old certificate --
    host.write_file('/etc/haproxy/haproxy.cfg', cfg)
    web3, _files = issue('web', web['domains'])
    silent = [dict(s, reload=['true']) if isinstance(s, dict) and s['kind'] == 'haproxy' else s for s in servers]
    fixed = play(autotls_servers=silent)
    assert reloaded(fixed) == ['reload nginx', 'haproxy', 'apache', 'bundle']
    assert serials(host, host.fqdn) == [web3, web1, web3]
    assert serials(host, 'alt.' + host.fqdn) == [alt1] * 3
    assert host.read_file(BUNDLE_LOG) == 'reloaded\nreloaded\n'

    # -- the renewal's drift repair finds HAProxy behind, names it and reloads it alone --
    drift = play(playbook=DRIFT_PLAYBOOK % os.path.join(REPO, 'playbooks', 'tasks', 'repair_drift.yml'))
    noted = [r for r in drift.tasks(host=host.name)
             if r['task'].endswith('Reload where an older certificate is still served')]
    assert [item['msg'] for item in noted[0]['result']['results']] == [
        '%s serves web with serial %x on server haproxy (kind haproxy), the store has %x' % (host.name, web1, web3)]
    assert reloaded(drift) == ['haproxy']
    assert serials(host, host.fqdn) == [web3] * 3

    # -- retirement: alt leaves the inventory. An operator's frontend of their own still reads
    #    alt's PEM, so HAProxy's check fails with alt's files gone: everything goes back, on
    #    every server, the store keeps it, and the host fails naming the certificate and kind --
    alt_files = ['/etc/nginx/conf.d/autotls-tls-alt.conf', '/etc/haproxy/certs/alt.pem',
                 '/etc/apache2/sites-enabled/autotls-alt.conf', '/etc/autotls/bundle/alt.pem',
                 '/etc/autotls/certs/alt/privkey.pem']
    retiring = dict(autotls_host_certificates=[web], autotls_retire=True, playbook=RETIRE,
                    autotls_store={'type': 'local', 'path': str(store.parent)})
    host.write_file('/etc/haproxy/haproxy.cfg', cfg + 'frontend legacy\n    bind %s:%d ssl crt /etc/haproxy/certs/alt.pem\n'
                    % (host.address, HAPROXY_PORT + 1))
    refused = play(expect_rc=2, **retiring)
    message = [r for r in refused.failed if r['host'] == host.name][-1]['result']['msg']
    assert message.startswith('On %s: Retiring certificate(s) alt failed the check of server haproxy (kind haproxy) '
                              "'haproxy -c -f /etc/haproxy/haproxy.cfg' (exit 1)" % host.name), message
    assert "Take them out of what still reads them (alt)" in message and '/etc/haproxy/certs/alt.pem' in message
    assert all(host.exists(path) for path in alt_files)
    assert (store / 'alt' / 'cert.pem').exists()
    assert refused.task('Report what was retired')['result']['msg'] == [
        'alt: kept on %s: the check of server haproxy (kind haproxy) fails without its files, so everything was put '
        "back; the store's copy stays until it is off every host." % host.name]
    assert serials(host, 'alt.' + host.fqdn) == [alt1] * 3

    # -- the operator's frontend gone: alt is taken off every server, each reloaded once;
    #    web is still served everywhere, the store's copy is set aside --
    host.write_file('/etc/haproxy/haproxy.cfg', cfg)
    retired = play(**retiring)
    assert retired.task('Report what was retired')['result']['msg'] == [
        'alt: was taken off %s; was set aside in %s/retired/alt/%x.' % (host.name, store.parent, alt1)]
    assert not any(host.exists(path) for path in alt_files) and not host.exists('/etc/autotls/certs/alt')
    assert not (store / 'alt').exists() and (store.parent / 'retired' / 'alt' / ('%x' % alt1) / 'cert.pem').exists()
    assert reloaded(retired) == ['reload nginx', 'haproxy', 'apache', 'bundle']
    assert host.read_file(BUNDLE_LOG) == 'reloaded\n' * 3
    assert serials(host, host.fqdn) == [web3] * 3
    assert alt1 not in any_serials(host, 'alt.' + host.fqdn)
