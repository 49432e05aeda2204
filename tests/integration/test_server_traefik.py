# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The traefik server kind against a real Traefik inside an SSH test host.

Traefik runs with the static configuration of docs/traefik.md (bound to the host's own
address) and the guide's inventory for the kind; cert_deploy deploys from a store on the
controller. Every served certificate is checked from inside the host, verified against the
store's CA. One Traefik process serves the whole test: renewals are picked up without a
restart.
"""

import os
import socket

import pytest
import yaml

from testbed.doc_examples import REPO_ROOT, guide_inventory, markdown_examples
from testbed.fixtures_hosts import write_inventory
from testbed.processes import wait_until
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert
from testbed.traefik import traefik_binary, verified_serial_inside

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GUIDE = 'docs/traefik.md'
PLAYBOOK = '''
- hosts: all
  gather_facts: false
  roles:
    - role: autotls.acme.cert_deploy
'''
RETIRE = os.path.join(REPO_ROOT, 'playbooks', 'retire.yml')
INSTALL = 'autotls.acme.cert_deploy : Install the new files and check them (traefik)'


def guide_block(prefix):
    for example in markdown_examples(os.path.join(REPO_ROOT, GUIDE)):
        first = example.text.splitlines()[0]
        if first.startswith('# ' + prefix):
            return first[2:].split()[0], example.text
    raise AssertionError('%s has no block starting with "# %s"' % (GUIDE, prefix))


class Store:
    """The controller's store (<dir>/<name>/{cert,chain,fullchain,privkey}.pem) and its CA."""

    def __init__(self, path):
        self.path = path
        path.mkdir(parents=True)
        self.ca_cert, self.ca_key = make_ca(common_name='autotls traefik test CA')
        self.cafile = str(path.parent / 'ca.pem')      # /tmp: seen by the test host too
        with open(self.cafile, 'wb') as handle:
            handle.write(cert_pem(self.ca_cert))

    def issue(self, name, domains, mismatched_key=False):
        cert, key = make_server_cert(self.ca_cert, self.ca_key, names=tuple(domains), ips=())
        if mismatched_key:
            key = make_server_cert(self.ca_cert, self.ca_key, names=tuple(domains), ips=())[1]
        directory = self.path / name
        directory.mkdir(exist_ok=True)
        for filename, data in (('cert.pem', cert_pem(cert)), ('chain.pem', cert_pem(self.ca_cert)),
                               ('fullchain.pem', cert_pem(cert) + cert_pem(self.ca_cert)),
                               ('privkey.pem', key_pem(key))):
            (directory / filename).write_bytes(data)
        return '%x' % cert.serial_number


@pytest.mark.timeout(600)
def test_traefik_serves_each_renewal_without_restart_and_keeps_the_old_one_when_refused(
        test_hosts, host_traefik, run_playbook, ansible_env, tmp_path):
    host = test_hosts['app3']
    host.reset()
    # Traefik, as the guide configures it, on the host's own address (the hosts share one network).
    path, static = guide_block('/etc/traefik/traefik.yml')
    config = yaml.safe_load(static)
    config['entryPoints']['websecure']['address'] = '%s:443' % host.address
    config['global'] = {'checkNewVersion': False, 'sendAnonymousUsage': False}
    host.write_file(path, yaml.safe_dump(config))
    host.run(['mkdir', '-p', config['providers']['file']['directory']], check=True)   # as the guide says
    traefik = host_traefik(host).wait_listening(443)

    # The guide's inventory for the kind; only the address is the test host's.
    variables = guide_inventory(GUIDE)['host_vars/edge2.yml']
    [server] = variables['autotls_servers']
    [certificate] = variables['autotls_host_certificates']
    name, sni = certificate['name'], certificate['domains'][0]
    server['address'] = host.address
    store = Store(tmp_path / 'store' / 'certs')
    variables['autotls_cert_source_dir'] = str(store.path)
    env = dict(ansible_env, ANSIBLE_PIPELINING='True')

    def play(expect_rc=0, playbook=PLAYBOOK, **changes):
        inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[host],
                                    host_vars={host: dict(variables, **changes)})
        return run_playbook(playbook, inventory=inventory, connection=None, env=env, expect_rc=expect_rc)

    def served():
        return verified_serial_inside(host, sni, cafile=store.cafile)

    def failure(result):
        return [r for r in result.failed if r['host'] == host.name][-1]['result']['msg']

    # -- first deploy: the run itself confirms the served serial --
    first_serial = store.issue(name, certificate['domains'])
    first = play()
    assert first.task(INSTALL, host.name)['result']['served'] == {'traefik': {name: first_serial}}
    assert served() == (first_serial, '')
    dynamic = host.read_file('%s/autotls-%s.yml' % (server['dynamic_dir'], name))
    assert '/etc/autotls/certs/%s/fullchain.pem' % name in dynamic

    # -- nothing new: nothing changes --
    quiet = play()
    assert quiet.stats[host.name]['changed'] == 0, [r['task'] for r in quiet.changed]

    # -- a renewal: Traefik (the same process) serves it, confirmed by the run --
    pid = traefik.process.pid
    second_serial = store.issue(name, certificate['domains'])
    renewed = play()
    assert renewed.task(INSTALL, host.name)['result']['served'] == {'traefik': {name: second_serial}}
    assert served() == (second_serial, '')
    assert traefik.running and traefik.process.pid == pid

    # -- a broken certificate (its key does not match): refused before Traefik sees it --
    before = {f: host.read_file('/etc/autotls/certs/%s/%s' % (name, f), binary=True)
              for f in ('fullchain.pem', 'privkey.pem')}
    store.issue(name, certificate['domains'], mismatched_key=True)
    broken = play(expect_rc=2)
    message = failure(broken)
    assert message.startswith('Deploying certificate(s) %s on %s failed the check of server traefik (kind traefik)'
                              % (name, host.name)), message
    assert 'do not load as a certificate and its key' in message, message
    assert served() == (second_serial, '')
    assert {f: host.read_file('/etc/autotls/certs/%s/%s' % (name, f), binary=True) for f in before} == before

    # -- Traefik does not serve the new one in time (it is stopped): the previous files go back --
    third_serial = store.issue(name, certificate['domains'])
    traefik.stop()
    unserved = play(expect_rc=2, autotls_servers=[dict(server, wait=2)])
    message = failure(unserved)
    assert 'kind traefik' in message and 'not the new serial %s' % third_serial in message, message
    assert 'the previous files are back' in message
    assert {f: host.read_file('/etc/autotls/certs/%s/%s' % (name, f), binary=True) for f in before} == before
    restarted = host_traefik(host).wait_listening(443)
    # After a start Traefik serves its own certificate until it has read the directory.
    assert wait_until(lambda: served()[0], 15, 'Traefik to load its directory', process=restarted.process) \
        == second_serial

    # -- retirement: the certificate leaves the inventory; its dynamic file and its set go,
    #    Traefik (no check command, no reload) stops serving it; the store's copy is set aside --
    retire = play(playbook=RETIRE, autotls_host_certificates=[], autotls_retire=True,
                  autotls_store={'type': 'local', 'path': str(store.path.parent)})
    aside = '%s/retired/%s/%s' % (store.path.parent, name, third_serial)
    assert retire.task('Report what was retired')['result']['msg'] == [
        '%s: was taken off %s; was set aside in %s.' % (name, host.name, aside)]
    assert not host.exists('%s/autotls-%s.yml' % (server['dynamic_dir'], name))
    assert not host.exists('/etc/autotls/certs/%s' % name)
    assert wait_until(lambda: served()[0] != second_serial, 15, 'Traefik to drop the retired certificate',
                      process=restarted.process)


# Traefik as a service of the host (no systemd in test hosts: an init script that ansible.builtin.service runs).
INIT_SCRIPT = '''#!/bin/sh
PIDFILE=/run/traefik-acme-test.pid
case "$1" in
  start) start-stop-daemon --start --background --make-pidfile --pidfile $PIDFILE --exec %s -- \\
           --configFile=/etc/traefik/traefik.yml ;;
  stop) start-stop-daemon --stop --quiet --oknodo --retry 5 --pidfile $PIDFILE; rm -f $PIDFILE ;;
  restart) "$0" stop; "$0" start ;;
  status) start-stop-daemon --status --pidfile $PIDFILE ;;
  *) exit 3 ;;
esac
'''
ROLE_PLAYBOOK = '''
- hosts: all
  gather_facts: false
  roles:
    - role: autotls.acme.traefik_acme
'''


@pytest.mark.timeout(300)
def test_traefik_acme_puts_the_previous_static_configuration_back_when_traefik_refuses_it(
        test_hosts, run_playbook, tmp_path):
    host = test_hosts['app3']
    host.reset()
    host.write_file('/etc/init.d/traefik', INIT_SCRIPT % traefik_binary(), mode=0o755)
    settings = dict(autotls_acme_directory='https://ca.internal.example.test:9443/acme/acme/directory',
                    autotls_traefik_listen_address=host.address, autotls_traefik_http_port=8080,
                    autotls_traefik_https_port=8443, autotls_traefik_start_timeout=3)

    def play(expect_rc=0, **changes):
        inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[host], host_vars={host: dict(settings, **changes)})
        return run_playbook(ROLE_PLAYBOOK, inventory=inventory, connection=None, expect_rc=expect_rc)

    def listening():
        try:
            with socket.create_connection((host.address, 8443), timeout=1):
                return True
        except OSError:
            return False

    try:
        play()
        good = host.read_file('/etc/traefik/traefik.yml')
        assert listening()
        # A setting Traefik refuses at start (it stops with "strconv.ParseBool"): the previous file comes back.
        refused = play(expect_rc=2, autotls_traefik_static_extra={'api': {'dashboard': 'notabool'}})
        message = [r for r in refused.failed if r['host'] == host.name][-1]['result']['msg']
        assert message.startswith('Traefik did not start with the new static configuration /etc/traefik/traefik.yml')
        assert 'The previous one is back and Traefik was restarted with it.' in message, message
        assert host.read_file('/etc/traefik/traefik.yml') == good
        wait_until(listening, 15, 'Traefik in %s to listen again with the previous configuration' % host.name)
    finally:
        host.run(['/etc/init.d/traefik', 'stop'])
