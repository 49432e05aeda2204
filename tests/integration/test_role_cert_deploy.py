# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role cert_deploy on a real SSH test host, with nginx_tls serving what it deploys.

The store is a directory on the controller (this process) laid out as the issuer leaves
it: <store>/<name>/{cert,chain,fullchain,privkey}.pem. What the host serves is checked
over TLS from outside (serial numbers), what it holds from inside (bytes, modes, owners).
"""

import json
import os
import socket
import ssl

import pytest
from cryptography import x509

from testbed.fixtures_hosts import write_inventory
from testbed.hosts import link_hosts, reset_hosts
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CERT_DIR = '/etc/autotls/certs'
FILES = ('cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem')

PLAYBOOK = '''
- hosts: all
  gather_facts: false
  roles:
    - role: autotls.acme.cert_deploy
    - role: autotls.acme.nginx_tls
  tasks:
    - name: Deployed certificates
      ansible.builtin.debug:
        var: autotls_cert_deploy_changed
'''


@pytest.fixture
def host(test_hosts):
    """app3, fresh; reset again afterwards."""
    app3 = test_hosts['app3']
    reset_hosts([app3])
    link_hosts(test_hosts)
    yield app3
    reset_hosts([app3])
    link_hosts(test_hosts)


class Store:
    """The controller-side store and the throwaway CA that issues into it."""

    def __init__(self, path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.ca_cert, self.ca_key = make_ca(common_name='autotls cert_deploy test CA')
        self.cafile = str(path.parent / 'ca.pem')
        with open(self.cafile, 'wb') as f:
            f.write(cert_pem(self.ca_cert))

    def issue(self, name, domains, mismatched_key=False):
        """Put a new certificate for `domains` in the store under `name`: (cert, files)."""
        cert, key = make_server_cert(self.ca_cert, self.ca_key, names=tuple(domains), ips=())
        if mismatched_key:
            key = make_server_cert(self.ca_cert, self.ca_key, names=tuple(domains), ips=())[1]
        files = {'cert.pem': cert_pem(cert), 'chain.pem': cert_pem(self.ca_cert),
                 'fullchain.pem': cert_pem(cert) + cert_pem(self.ca_cert), 'privkey.pem': key_pem(key)}
        directory = self.path / name
        directory.mkdir(parents=True, exist_ok=True)
        for filename, data in files.items():
            (directory / filename).write_bytes(data)
        os.chmod(directory / 'privkey.pem', 0o600)
        return cert, files


def key_body_lines(files):
    """The base64 lines of a PEM private key (what must never appear in any output)."""
    return [line for line in files['privkey.pem'].decode().splitlines()
            if line and not line.startswith('-----')]


def served_serial(host, server_name, cafile):
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((host.address, 443), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=server_name) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def host_files(host, name):
    return {f: host.read_file('%s/%s/%s' % (CERT_DIR, name, f), binary=True) for f in FILES}


def stat(host, path):
    rc, out, err = host.run(['stat', '-c', '%a %U %G', path])
    assert rc == 0, err
    return out.split()


def reloads(result, host):
    return [r for r in result.tasks(host=host.name)
            if r['task'].endswith('reload nginx') and r['status'] != 'skipped']


def copies(result, host):
    """The role's install runs that wrote something on host (a run with nothing to change writes nothing)."""
    return [r['task'] for r in result.tasks(host=host.name)
            if 'Install the new files' in r['task'] and r['status'] != 'skipped'
            and r['result'].get('changed_paths')]


def assert_no_key_in(result, *key_files):
    output = result.stdout + result.stderr + json.dumps(result.results)
    for files in key_files:
        for line in key_body_lines(files):
            assert line not in output, 'private key text in the output: %r' % line


def setup_play(host, run_playbook, ansible_env, tmp_path):
    """(store, play, fail_message, web, alt, ghost): the play runs PLAYBOOK on host with
    web, alt and ghost declared (ghost never in the store); keywords override host vars."""
    store = Store(tmp_path / 'store' / 'certs')
    web = {'name': 'web', 'domains': [host.fqdn]}
    alt = {'name': 'alt', 'domains': ['alt.' + host.fqdn], 'group': 'www-data', 'key_mode': '0640'}
    ghost = {'name': 'ghost', 'domains': ['ghost.' + host.fqdn]}
    host_vars = {'autotls_cert_source_dir': str(store.path),
                 'autotls_nginx_listen_address': host.address,
                 'autotls_host_certificates': [web, alt, ghost]}
    env = dict(ansible_env, ANSIBLE_PIPELINING='True')

    def play(expect_rc=0, args=(), check=False, **variables):
        inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[host],
                                    host_vars={host: dict(host_vars, **variables)})
        return run_playbook(PLAYBOOK, inventory=inventory, connection=None, env=env,
                            expect_rc=expect_rc, args=list(args), check=check)

    def fail_message(result):
        return [r for r in result.failed if r['host'] == host.name][-1]['result']['msg']

    return store, play, fail_message, web, alt, ghost


def test_deploy_check_and_roll_back(host, run_playbook, ansible_env, tmp_path):
    store, play, fail_message, web, alt, ghost = setup_play(host, run_playbook, ansible_env, tmp_path)
    web1, web1_files = store.issue('web', web['domains'])
    alt_files = store.issue('alt', alt['domains'])[1]

    # -- first deploy, at -vvv: files, modes, owners; the key shows nowhere --
    first = play(args=['-vvv'])
    assert first.task('Deployed certificates', host.name)['result']['autotls_cert_deploy_changed'] == ['web', 'alt']
    assert host_files(host, 'web') == web1_files
    assert host_files(host, 'alt') == alt_files
    for name in ('cert.pem', 'chain.pem', 'fullchain.pem'):
        assert stat(host, '%s/web/%s' % (CERT_DIR, name)) == ['644', 'root', 'root']
        assert stat(host, '%s/alt/%s' % (CERT_DIR, name)) == ['644', 'root', 'www-data']
    assert stat(host, CERT_DIR + '/web/privkey.pem') == ['600', 'root', 'root']
    assert stat(host, CERT_DIR + '/alt/privkey.pem') == ['640', 'root', 'www-data']
    assert_no_key_in(first, web1_files, alt_files)
    # A declared certificate not in the store is skipped with a warning naming it.
    assert 'WARNING: skipping certificate(s) ghost' in first.stdout
    assert not host.exists(CERT_DIR + '/ghost')
    # nginx_tls wrote the TLS servers, the handlers reloaded: the new certificate is live.
    assert served_serial(host, host.fqdn, store.cafile) == web1.serial_number

    second = play()
    assert second.stats[host.name]['changed'] == 0, [r['task'] for r in second.changed]
    assert second.task('Deployed certificates', host.name)['result']['autotls_cert_deploy_changed'] == []
    assert copies(second, host) == []

    # -- a key left readable by someone on the host: only that file is put right --
    host.run(['chmod', '0644', CERT_DIR + '/web/privkey.pem'], check=True)
    repaired = play()
    assert repaired.task('Deployed certificates', host.name)['result']['autotls_cert_deploy_changed'] == ['web']
    assert stat(host, CERT_DIR + '/web/privkey.pem') == ['600', 'root', 'root']
    assert host_files(host, 'web') == web1_files
    installed = [r['result'] for r in repaired.tasks(host=host.name) if 'Install the new files' in r['task']]
    assert [r['changed_paths'] for r in installed] == [['web/privkey.pem']]
    assert served_serial(host, host.fqdn, store.cafile) == web1.serial_number

    # -- two renewals on one host, web's key does not match its certificate: nginx -t fails on
    #    web alone; web's previous files come back, alt's renewal goes live and is served --
    bad_files = store.issue('web', web['domains'], mismatched_key=True)[1]
    alt2, alt2_files = store.issue('alt', alt['domains'])
    bad = play(expect_rc=2, args=['-vvv'])
    message = fail_message(bad)
    assert message.startswith('Deploying certificate(s) web on %s failed' % host.name), message
    assert CERT_DIR + '/web/privkey.pem' in message          # the file nginx complained about
    assert 'key values mismatch' in message                  # nginx's own error
    assert "'nginx -t'" in message and 'Deployed and reloaded: alt.' in message
    noted = [r['result'] for r in bad.tasks(host=host.name)
             if r['task'].endswith('Note the servers to reload, the certificates deployed and those put back')]
    assert [r['ansible_facts']['autotls_cert_deploy_rolled_back'] for r in noted] == [['web']]
    # web: the old files are back byte for byte and still served; alt: renewed, reloaded, served.
    assert host_files(host, 'web') == web1_files
    assert stat(host, CERT_DIR + '/web/privkey.pem') == ['600', 'root', 'root']
    assert served_serial(host, host.fqdn, store.cafile) == web1.serial_number
    assert host_files(host, 'alt') == alt2_files
    assert stat(host, CERT_DIR + '/alt/privkey.pem') == ['640', 'root', 'www-data']
    assert [r['task'].rsplit(' : ', 1)[-1] for r in bad.tasks(host=host.name)
            if r['task'].endswith(('validate nginx configuration', 'reload nginx'))] == [
        'validate nginx configuration', 'reload nginx']
    assert served_serial(host, 'alt.' + host.fqdn, store.cafile) == alt2.serial_number
    assert_no_key_in(bad, bad_files, web1_files, alt2_files)
    # Nothing half-done is left beside the certificates (and the manifest of what the collection wrote).
    rc, out, err = host.run(['ls', '-A', CERT_DIR])
    assert out.split() == ['.autotls-manifest.json', 'alt', 'web'], out

    # -- a good renewal goes live; the replaced files are kept in .previous --
    web2, web2_files = store.issue('web', web['domains'])
    good = play()
    assert good.task('Deployed certificates', host.name)['result']['autotls_cert_deploy_changed'] == ['web']
    assert host_files(host, 'web') == web2_files
    assert served_serial(host, host.fqdn, store.cafile) == web2.serial_number
    # Only what changed was kept: chain.pem (the same CA) was not replaced.
    kept = {f: host.read_file('%s/web/.previous/%s' % (CERT_DIR, f), binary=True)
            for f in ('cert.pem', 'fullchain.pem', 'privkey.pem')}
    assert kept == {f: web1_files[f] for f in kept}
    assert stat(host, CERT_DIR + '/web/.previous/privkey.pem') == ['600', 'root', 'root']
    assert stat(host, CERT_DIR + '/web/.previous') == ['700', 'root', 'root']
    assert len(reloads(good, host)) == 1


def test_first_deploy_refused_and_missing_certificates(host, run_playbook, ansible_env, tmp_path):
    store, play, fail_message, web, alt, ghost = setup_play(host, run_playbook, ansible_env, tmp_path)
    store.issue('web', web['domains'])
    store.issue('alt', alt['domains'])

    # -- check mode: reports the changes, makes none --
    checked = play(check=True)
    assert checked.stats[host.name]['changed'] > 0
    assert not host.exists(CERT_DIR + '/web')

    # -- first deploy of a certificate, the check fails: the new files are removed --
    fresh = {'name': 'fresh', 'domains': ['fresh.' + host.fqdn]}
    store.issue('fresh', fresh['domains'])
    refused = play(expect_rc=2, autotls_host_certificates=[web, fresh],
                   autotls_deploy_validate_command=['/bin/sh', '-c', 'echo "validator says no" >&2; exit 3'])
    message = fail_message(refused)
    assert 'fresh' in message and 'validator says no' in message and 'exit 3' in message
    # Nothing was there before: every new file is gone again, of both certificates.
    for name in FILES:
        assert not host.exists('%s/fresh/%s' % (CERT_DIR, name))
        assert not host.exists('%s/web/%s' % (CERT_DIR, name))
    assert reloads(refused, host) == []

    # -- missing certificates can be made an error, before anything changes --
    strict = play(expect_rc=2, autotls_cert_deploy_missing='fail')
    message = fail_message(strict)
    assert 'ghost' in message and str(store.path / 'ghost') in message
    assert strict.stats[host.name]['changed'] == 0
    assert not host.exists(CERT_DIR + '/web/cert.pem')

    # -- someone planted a link where a certificate goes: refused, nothing written through it --
    host.run(['mkdir', '-p', '/etc/autotls/outside', CERT_DIR], check=True)
    host.run(['ln', '-s', '/etc/autotls/outside', CERT_DIR + '/web'], check=True)
    planted = play(expect_rc=2)
    message = fail_message(planted)
    assert '%s/web is a symbolic link (to /etc/autotls/outside): refusing to follow it' % CERT_DIR in message, message
    rc, out, err = host.run(['ls', '-A', '/etc/autotls/outside'])
    assert rc == 0 and out.split() == [], out
    assert reloads(planted, host) == []
