# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH test hosts themselves, through ansible-playbook: reachable, separate, web servers.

Each host is a mount + UTS namespace with its own sshd on 127.0.0.(10+N):22 (see
tests/testbed/hosts.py). These tests prove what the certificate tests rely on: Ansible
reaches every host over SSH, each host has its own name and files, an nginx started by
`ansible.builtin.service` in one host serves that host's webroot on that host's address
only, and nothing of a host is left running after it is stopped, even when a test fails
or the test process is killed.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

from testbed.fixtures_hosts import OFFSET_ENV, ZONE, leftovers, write_inventory
from testbed.hosts import TestHost, listening_sockets, pids_in_namespace, pids_with_socket, \
    reset_hosts, stop_hosts

pytestmark = pytest.mark.integration

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHALLENGE_DIR = '/var/www/acme/.well-known/acme-challenge'

FACTS_PLAYBOOK = r'''
- hosts: web
  gather_facts: true
  tasks:
    - name: Ping
      ansible.builtin.ping:

    - name: Hostname as the host's shell sees it
      ansible.builtin.command: hostname
      changed_when: false
'''

NGINX_PLAYBOOK = r'''
- hosts: web
  gather_facts: false
  tasks:
    - name: Server block on the host's own address
      ansible.builtin.copy:
        dest: /etc/nginx/sites-enabled/autotls-test.conf
        content: |
          server {
              listen {{ ansible_host }}:80;
              server_name {{ fqdn }};
              root /var/www/acme;
              location /.well-known/acme-challenge/ {
                  default_type text/plain;
                  try_files $uri =404;
              }
          }
        mode: "0644"

    - name: Challenge directory
      ansible.builtin.file:
        path: /var/www/acme/.well-known/acme-challenge
        state: directory
        mode: "0755"

    - name: Token only this host has
      ansible.builtin.copy:
        dest: /var/www/acme/.well-known/acme-challenge/x
        content: "token-of-{{ inventory_hostname }}\n"
        mode: "0644"

    - name: Check the configuration
      ansible.builtin.command: nginx -t
      changed_when: false

    - name: Start nginx
      ansible.builtin.service:
        name: nginx
        state: started
'''

ONLY_APP1_PLAYBOOK = r'''
- hosts: app1
  gather_facts: false
  tasks:
    - name: A file on app1 only
      ansible.builtin.copy:
        dest: "{{ item }}"
        content: "app1 only\n"
        mode: "0644"
      loop:
        - /var/www/acme/only-app1
        - /etc/autotls/only-app1.pem

- hosts: web
  gather_facts: false
  tasks:
    - name: Look for it
      ansible.builtin.stat:
        path: /etc/autotls/only-app1.pem
'''


@pytest.fixture
def inventory(test_hosts, tmp_path):
    return write_inventory(tmp_path / 'inventory.yml', groups={'web': list(test_hosts)},
                           host_vars={h: {'fqdn': h.fqdn} for h in test_hosts})


def curl(url, resolve=None):
    """curl from the test process: (status code, body)."""
    command = ['curl', '-sS', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}', url]
    if resolve:
        command[1:1] = ['--resolve', resolve]
    done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    body, _newline, code = done.stdout.rpartition('\n')
    return int(code), body


def resolve_a(testbed, name):
    host, port = testbed.dns.address.rsplit(':', 1)
    response = dns.query.udp(dns.message.make_query(name, 'A'), host, port=int(port), timeout=5)
    return sorted(rdata.address for rrset in response.answer
                  if rrset.rdtype == dns.rdatatype.A for rdata in rrset)


def socket_addresses(host, port):
    """Addresses the processes of `host` listen on at `port`."""
    pids = set(pids_in_namespace(host.mnt_ns, host.uts_ns))
    found = set()
    for address, p, inode in listening_sockets():
        if p == port and set(pids_with_socket([inode])) & pids:
            found.add(address)
    return found


def _machine_state():
    return {path: sorted(os.listdir(path)) if os.path.isdir(path) else None
            for path in ('/etc/nginx/sites-enabled', '/etc/autotls', '/var/www',
                         '/usr/local/share/ca-certificates', '/etc/ssl/certs')}


MACHINE_BEFORE = _machine_state()


def machine_untouched():
    """The machine's own files that a test host must never write are as they were."""
    assert _machine_state() == MACHINE_BEFORE
    assert MACHINE_BEFORE['/etc/autotls'] is None
    assert 'acme' not in MACHINE_BEFORE['/var/www']


# ---- SSH, names, separation ---------------------------------------------------------

def test_ansible_reaches_every_host_over_ssh_and_each_has_its_own_name(
        test_hosts, inventory, run_playbook):
    result = run_playbook(FACTS_PLAYBOOK, inventory=inventory, connection=None)

    assert set(result.stats) == {'app1', 'app2', 'app3'}
    for name, stats in result.stats.items():
        assert stats['unreachable'] == 0 and stats['failures'] == 0, (name, stats)
    for host in test_hosts:
        facts = result.task('Gathering Facts', host.name)['result']['ansible_facts']
        assert facts['ansible_hostname'] == host.name
        assert facts['ansible_nodename'] == host.name
        assert facts['ansible_fqdn'] == host.fqdn
        # No systemd here: PID 1 is the sandbox's own init.
        assert facts['ansible_service_mgr'] not in ('systemd', None)
        assert result.task('Ping', host.name)['result']['ping'] == 'pong'
        assert result.task('Hostname as the host\'s shell sees it',
                           host.name)['result']['stdout'] == host.name
        # The host's SSH server is where the inventory says, and only there.
        assert socket_addresses(host, 22) == {host.address}


def test_hosts_see_only_their_own_files(test_hosts, inventory, run_playbook):
    # Session hosts keep what earlier tests deployed under /etc/autotls: start fresh.
    reset_hosts(test_hosts)
    app1, app2 = test_hosts['app1'], test_hosts['app2']
    result = run_playbook(ONLY_APP1_PLAYBOOK, inventory=inventory, connection=None)

    assert result.task('Look for it', 'app1')['result']['stat']['exists']
    assert not result.task('Look for it', 'app2')['result']['stat']['exists']
    assert not result.task('Look for it', 'app3')['result']['stat']['exists']
    assert app1.read_file('/etc/autotls/only-app1.pem') == 'app1 only\n'
    assert app1.exists('/var/www/acme/only-app1')
    assert not app2.exists('/var/www/acme/only-app1')
    rc, out, _err = app2.run(['ls', '/etc/autotls'])
    assert (rc, out) == (0, '')
    # The upper layer of app1's overlay holds the change; the machine never saw it.
    assert os.path.exists(os.path.join(app1.workdir, 'overlay/etc.upper/autotls/only-app1.pem'))
    machine_untouched()


# ---- nginx per host ---------------------------------------------------------------------

def test_nginx_started_by_ansible_serves_each_hosts_own_webroot(
        test_hosts, host_dns, testbed, inventory, run_playbook):
    # Session hosts keep what earlier tests left (a running nginx among it): start fresh.
    reset_hosts(test_hosts)
    try:
        result = run_playbook(NGINX_PLAYBOOK, inventory=inventory, connection=None)
        for host in test_hosts:
            assert result.task('Check the configuration', host.name)['result']['rc'] == 0
            assert result.task('Start nginx', host.name)['changed']
            # The test DNS server (what Pebble and step-ca ask) points the name at the host.
            assert host_dns.records[host.fqdn] == host.address
            assert resolve_a(testbed, host.fqdn) == [host.address]

        for host in test_hosts:
            url = 'http://%s/.well-known/acme-challenge/x' % host.fqdn
            assert curl(url, resolve='%s:80:%s' % (host.fqdn, host.address)) == (
                200, 'token-of-%s\n' % host.name)
            # nginx in the host listens on the host's address only: not 0.0.0.0, not [::].
            assert socket_addresses(host, 80) == {host.address}
            assert host.run('nginx -t')[0] == 0
            names = set(host.processes().values())
            assert {'nginx', 'sshd', 'sleep'} <= names, names

        app1, app2, app3 = test_hosts
        # Inside app1, the other hosts' names resolve through its /etc/hosts.
        rc, out, err = app1.run(['curl', '-sS', 'http://%s/.well-known/acme-challenge/x' % app2.fqdn])
        assert (rc, out) == (0, 'token-of-app2\n'), err
        # A file put in app1's webroot is served by app1 only.
        app1.write_file(CHALLENGE_DIR + '/only-here', 'app1 token\n')
        assert curl('http://%s/.well-known/acme-challenge/only-here' % app1.address)[0] == 200
        assert curl('http://%s/.well-known/acme-challenge/only-here' % app2.address)[0] == 404
        # The system Python of a host reads the host's own trust store.
        rc, out, err = app3.run(['python3', '-c', 'import ssl; c = ssl.create_default_context(); '
                                 'print(len(c.get_ca_certs()) >= 0, ssl.get_default_verify_paths().capath)'])
        assert rc == 0 and out.startswith('True'), err
        machine_untouched()

        # Stopping the hosts leaves nothing: no nginx, no sshd, nothing on their addresses.
        namespaces = [(h.mnt_ns, h.uts_ns, h.signature) for h in test_hosts]
        started = time.monotonic()
        # The addresses stay ours (no other test run takes them before the restart below).
        stop_hosts(test_hosts, release=False)
        stopped_in = time.monotonic() - started
        # Looked at by stop() itself: no process left in the namespace, nothing listening
        # on the address at 22, 80 or 443.
        assert leftovers(test_hosts) == []
        for mnt_ns, uts_ns, signature in namespaces:
            assert pids_in_namespace(mnt_ns, uts_ns, signature) == []
        for host in test_hosts:
            with pytest.raises(ConnectionRefusedError):
                connect(host.address, 80)
            assert not [s for s in listening_sockets() if s[:2] == (host.address, 80)]
        print('3 hosts stopped in %.3f s; app1 was %s' % (stopped_in, app1.address))
    finally:
        # Later tests get fresh hosts again (and no nginx left from this one).
        reset_hosts(test_hosts)


def connect(address, port):
    with socket.create_connection((address, port), timeout=2):
        pass


# ---- teardown, also after failures and crashes -------------------------------------------

INNER_CONFTEST = '''
import sys
sys.path.insert(0, %r)
pytest_plugins = ['testbed.fixtures_hosts']
'''

INNER_TESTS = r'''
import json, os

SERVER = """server {
    listen %s:80;
    root /var/www/acme;
}
"""

def record(host, key):
    path = os.environ['INNER_RECORD']
    data = json.load(open(path)) if os.path.exists(path) else {}
    data[key] = {'address': host.address, 'mnt_ns': host.mnt_ns, 'uts_ns': host.uts_ns,
                 'signature': host.signature, 'processes': host.processes()}
    json.dump(data, open(path, 'w'))

def start_nginx(host):
    host.write_file('/etc/nginx/sites-enabled/t.conf', SERVER % host.address)
    rc, out, err = host.ssh('nginx')   # over SSH, like Ansible: nobody's child here
    assert rc == 0, err

def test_session_host_with_nginx_fails(test_hosts):
    start_nginx(test_hosts['app1'])
    record(test_hosts['app1'], 'session')
    assert False, 'failing on purpose'

def test_extra_host_with_nginx_errors(new_test_host):
    host = new_test_host('extra')
    start_nginx(host)
    record(host, 'extra')
    raise RuntimeError('erroring on purpose')
'''


def test_fixture_teardown_stops_everything_when_tests_fail(tmp_path):
    (tmp_path / 'conftest.py').write_text(INNER_CONFTEST % TESTS_DIR)
    (tmp_path / 'test_inner.py').write_text(INNER_TESTS)
    record = tmp_path / 'record.json'
    env = dict(os.environ, INNER_RECORD=str(record), **{OFFSET_ENV: '200'})
    env.pop('PYTEST_XDIST_WORKER', None)
    done = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p', 'no:xdist',
         '--rootdir', str(tmp_path), '-c', os.devnull, str(tmp_path / 'test_inner.py')],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert '2 failed' in done.stdout, done.stdout + done.stderr
    assert 'error' not in done.stdout.splitlines()[-1], done.stdout  # teardown itself was clean

    hosts = json.loads(record.read_text())
    assert set(hosts) == {'session', 'extra'}
    for key, host in hosts.items():
        assert 'nginx' in host['processes'].values(), host
        assert pids_in_namespace(host['mnt_ns'], host['uts_ns'], host['signature']) == [], key
        for port in (22, 80):
            assert not [s for s in listening_sockets() if s[:2] == (host['address'], port)], (key, port)
    # And by name: no nginx or sshd anywhere runs in one of those hosts' namespaces.
    pgrep = subprocess.run(['pgrep', '-x', 'nginx|sshd'], capture_output=True, text=True, check=False)
    for pid in map(int, pgrep.stdout.split()):
        for host in hosts.values():
            assert pid not in pids_in_namespace(host['mnt_ns'], signature=host['signature'])


KILLED_RUN = r'''
import sys, time
sys.path.insert(0, %(tests)r)
from testbed.hosts import TestHost
host = TestHost('crashy', %(index)d, %(workdir)r).start()
host.write_file('/etc/nginx/sites-enabled/t.conf', 'server { listen %%s:80; }\n' %% host.address)
assert host.ssh('nginx')[0] == 0
print(host.mnt_ns, host.uts_ns, host.signature, flush=True)
time.sleep(600)
'''


def test_next_user_of_an_address_cleans_up_after_a_killed_run(tmp_path):
    index = 230
    script = KILLED_RUN % {'tests': TESTS_DIR, 'index': index, 'workdir': str(tmp_path / 'crashy')}
    proc = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
    try:
        mnt_ns, uts_ns, signature = proc.stdout.readline().split()
    finally:
        proc.send_signal(signal.SIGKILL)   # no atexit, no teardown
        proc.wait()
    left = {pid: _comm(pid) for pid in pids_in_namespace(mnt_ns, uts_ns, signature)}
    assert {'nginx', 'sshd', 'sleep'} <= set(left.values()), left

    host = TestHost('after', index, tmp_path / 'after')
    try:
        host.start()
        # (The new host may well get the same namespace ids: the kernel reuses them.)
        assert pids_in_namespace(mnt_ns, uts_ns, signature) == []
        assert not set(left) & set(host.processes())
        assert host.ssh('hostname')[1] == 'after\n'
        assert socket_addresses(host, 80) == set()
    finally:
        host.stop()
    assert leftovers([host]) == []


def _comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def test_inventory_yaml_holds_groups_and_vars(test_hosts, tmp_path):
    import yaml
    app1, app2, app3 = test_hosts
    path = write_inventory(tmp_path / 'inv.yml', hosts=[app3], groups={'web': [app1, app2]},
                           host_vars={'app1': {'x': 1}},
                           group_vars={'all': {'a': [1]}, 'web': {'w': True}})
    tree = yaml.safe_load(open(path))['all']
    assert tree['vars'] == {'a': [1]}
    assert set(tree['hosts']) == {'app1', 'app2', 'app3'}
    assert tree['hosts']['app1']['x'] == 1
    assert tree['hosts']['app2']['ansible_host'] == app2.address
    assert tree['hosts']['app2']['ansible_python_interpreter'] == '/usr/bin/python3'
    assert tree['children']['web'] == {'hosts': {'app1': None, 'app2': None}, 'vars': {'w': True}}
    assert ZONE in app1.fqdn
