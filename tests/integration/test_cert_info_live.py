# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.cert_info and playbooks/check.yml against real TLS servers on loopback.

The servers are Python ``ssl`` listeners started here, on free 127.0.0.1 ports, each
presenting a leaf plus its intermediate made here. One port is closed; one accepts TCP
and never speaks TLS, so the per-endpoint timeout is what ends that check.
"""

import datetime
import os
import stat
import selectors
import socket
import ssl
import threading
import time

import pytest
import yaml

from ansible_collections.autotls.acme.plugins.module_utils._tls import cert_info
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy
from testbed.ports import free_tcp_port
from testbed.tls import Pki, cert_pem

pytestmark = pytest.mark.integration

CHECK_PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              'playbooks', 'check.yml')
NOW = datetime.datetime.now(datetime.timezone.utc)


# ---- a root, an intermediate and leaves -------------------------------------------------

# ---- TLS listeners ----------------------------------------------------------------------

class Listeners:
    """Many listening sockets on 127.0.0.1 served by one acceptor thread.

    ``tls(fullchain, key)`` adds a port that completes a TLS handshake presenting that
    chain; ``silent()`` a port that accepts TCP and never says a word.
    """

    def __init__(self):
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._held = []
        self._lock = threading.Lock()
        self.handshakes = 0
        self._thread = threading.Thread(target=self._serve, name='tls-listeners', daemon=True)
        self._started = False

    def _listen(self, context):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', 0))
        sock.listen(128)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, context)
        if not self._started:
            self._started = True
            self._thread.start()
        return sock.getsockname()[1]

    def tls(self, fullchain, key):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(fullchain, key)
        return self._listen(context)

    def silent(self):
        return self._listen(None)

    def _serve(self):
        while not self._stop.is_set():
            for key, _events in self._selector.select(timeout=0.1):
                try:
                    conn, _addr = key.fileobj.accept()
                except BlockingIOError:
                    continue
                if key.data is None:
                    with self._lock:
                        self._held.append(conn)  # never answered; closed at stop()
                    continue
                threading.Thread(target=self._handshake, args=(key.data, conn), daemon=True).start()

    def _handshake(self, context, conn):
        conn.setblocking(True)
        conn.settimeout(10)
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                with self._lock:
                    self.handshakes += 1
                tls.recv(1)  # until the client goes away
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def stop(self):
        self._stop.set()
        if self._started:
            self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()
        with self._lock:
            for conn in self._held:
                conn.close()


@pytest.fixture(scope='module')
def pki():
    return Pki('Loopback', now=NOW)


@pytest.fixture
def listeners():
    servers = Listeners()
    yield servers
    servers.stop()


@pytest.fixture
def scene(pki, listeners, tmp_path):
    """A healthy endpoint, one close to expiry, one closed port and one silent port."""
    good_chain, good_key, good_leaf = pki.write(str(tmp_path / 'good'), ['app1.example.test', '*.qa1.example.test'])
    due_chain, due_key, _due_leaf = pki.write(str(tmp_path / 'due'), ['old.example.test'], days=90, age_days=80)
    return {
        'good': listeners.tls(good_chain, good_key),
        'due': listeners.tls(due_chain, due_key),
        'closed': free_tcp_port(),
        'silent': listeners.silent(),
        'good_chain': good_chain,
        'good_leaf': good_leaf,
    }


# ---- the module_utils directly, both ways of fetching -----------------------------------

@pytest.mark.parametrize('backend', ['pyopenssl', 'ssl-leaf'])
def test_fetch_sees_the_chain_the_server_presents(pki, scene, backend):
    if backend == 'pyopenssl' and not cert_info.HAS_PYOPENSSL:
        pytest.skip('pyOpenSSL is not installed')
    chain = cert_info.fetch_chain('127.0.0.1', scene['good'], 'app1.example.test', 3, backend)
    assert chain[0].serial_number == scene['good_leaf'].serial_number
    if backend == 'pyopenssl':
        assert [c.subject for c in chain] == [scene['good_leaf'].subject, pki.inter.subject]
    else:
        assert len(chain) == 1  # Python 3.11's ssl shows the leaf only


def test_silent_and_closed_ports_fail_within_the_timeout(scene):
    started = time.monotonic()
    with pytest.raises(cert_info.EndpointError, match='no TLS handshake within 0.5 s'):
        cert_info.fetch_chain('127.0.0.1', scene['silent'], None, 0.5)
    assert time.monotonic() - started < 2
    with pytest.raises(cert_info.EndpointError, match='Connection refused'):
        cert_info.fetch_chain('127.0.0.1', scene['closed'], None, 0.5)


def test_leaf_only_fetching_does_not_call_a_good_chain_bad(pki, scene):
    inspector = cert_info.Inspector(RenewalPolicy(), [pki.root], backend='ssl-leaf')
    result = inspector.inspect_endpoint({'host': '127.0.0.1', 'port': scene['good'],
                                         'server_name': 'app1.example.test'})
    assert result['chain_length'] == 1 and result['chain_verified'] is None
    assert 'only the leaf could be fetched' in result['chain_error']


# ---- the module through ansible-playbook ------------------------------------------------

MODULE_PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Check certificates
      autotls.acme.cert_info:
        files: "{{ files }}"
        endpoints: "{{ endpoints }}"
        root_pem: "{{ root_pem }}"
        timeout: 1
        concurrency: 8
      register: info
'''


def test_module_reports_files_and_endpoints_and_never_fails_on_a_dead_one(pki, scene, run_playbook, tmp_path):
    endpoints = [
        {'host': '127.0.0.1', 'port': scene['good'], 'server_name': 'app1.example.test', 'name': 'good'},
        {'host': '127.0.0.1', 'port': scene['good'], 'server_name': 'x.qa1.example.test', 'name': 'wildcard'},
        {'host': '127.0.0.1', 'port': scene['good'], 'server_name': 'other.example.test', 'name': 'wrong-name'},
        {'host': '127.0.0.1', 'port': scene['due'], 'server_name': 'old.example.test', 'name': 'due'},
        {'host': '127.0.0.1', 'port': scene['closed'], 'name': 'closed'},
        {'host': '127.0.0.1', 'port': scene['silent'], 'name': 'silent'},
    ]
    started = time.monotonic()
    result = run_playbook(MODULE_PLAYBOOK, extra_vars={
        'files': [scene['good_chain'], str(tmp_path / 'absent.pem')],
        'endpoints': endpoints,
        'root_pem': cert_pem(pki.root).decode(),
    })
    elapsed = time.monotonic() - started
    task = result.task('Check certificates')
    info = task['result']
    assert task['changed'] is False and not task['failed']
    by_name = {r['name']: r for r in info['results']}
    assert [r['source'] for r in info['results']] == ['file', 'file'] + ['endpoint'] * 6

    stored = by_name[scene['good_chain']]
    assert stored['status'] == 'ok' and stored['chain_verified'] is True and stored['chain_length'] == 2
    assert by_name[str(tmp_path / 'absent.pem')]['status'] == 'missing'

    good = by_name['good']
    assert good['reachable'] is True and good['status'] == 'ok' and good['matches_name'] is True
    assert good['chain_verified'] is True and good['chain_length'] == 2
    assert good['serial'] == stored['serial'] and good['issuer'] == 'Loopback Intermediate'
    assert good['domains'] == ['app1.example.test', '*.qa1.example.test']
    assert by_name['wildcard']['matches_name'] is True and by_name['wildcard']['status'] == 'ok'
    wrong = by_name['wrong-name']
    assert wrong['matches_name'] is False and wrong['status'] == 'name_mismatch'
    assert wrong['chain_verified'] is False and 'subjectAltName' in wrong['chain_error']
    due = by_name['due']
    assert due['due'] is True and due['status'] == 'due' and 9 < due['days_left'] < 10.1
    for dead in ('closed', 'silent'):
        assert by_name[dead]['reachable'] is False and by_name[dead]['status'] == 'unreachable'
        assert by_name[dead]['not_after'] is None
    assert 'refused' in by_name['closed']['error']
    assert 'no TLS handshake within 1 s' in by_name['silent']['error']

    assert info['summary'] == {'ok': 3, 'due': 1, 'expired': 0, 'unreachable': 2, 'missing': 1,
                               'invalid': 0, 'key_mismatch': 0, 'name_mismatch': 1, 'chain_invalid': 0,
                               'unverified': 0, 'total': 8}
    assert info['endpoint_backend'] == ('pyopenssl' if cert_info.HAS_PYOPENSSL else 'ssl-leaf')
    assert info['roots'] == ['root_pem']
    # The silent port costs one timeout, in parallel with everything else.
    assert elapsed < 20


def test_module_fails_only_on_wrong_options(run_playbook, tmp_path):
    result = run_playbook(r'''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Unreadable bundle
      autotls.acme.cert_info:
        ca_bundle: "{{ bundle }}"
''', extra_vars={'bundle': str(tmp_path / 'none.pem')}, expect_rc=2)
    task = result.task('Unreadable bundle')
    assert task['failed'] and 'Could not read ca_bundle' in task['result']['msg']


# ---- playbooks/check.yml ----------------------------------------------------------------

def _inventory(path, hostvars):
    with open(path, 'w') as handle:
        yaml.safe_dump({'all': {'hosts': {'localhost': hostvars}}}, handle)
    return str(path)


def test_check_playbook_reports_and_fails_on_problems_changing_nothing(pki, scene, run_playbook, tmp_path):
    store = tmp_path / 'store'
    # app1 is in the store and served on the good port: green. app2 was never issued
    # (no file) and the same port serves app1's certificate for its name: red twice.
    # app3's key in the store is another certificate's: a new key beside an old certificate.
    pki.write(str(store / 'certs' / 'app1'), ['app1.example.test', '*.qa1.example.test'])
    pki.write(str(store / 'certs' / 'app3'), ['app3.example.test'])
    pki.write(str(tmp_path / 'other'), ['app3.example.test'])
    os.replace(str(tmp_path / 'other' / 'privkey.pem'), str(store / 'certs' / 'app3' / 'privkey.pem'))
    os.chmod(str(store), 0o700)
    inventory = _inventory(tmp_path / 'inventory.yml', {
        'ansible_connection': 'local',
        'ansible_host': '127.0.0.1',
        'autotls_tls_port': scene['good'],
        'autotls_host_certificates': [
            {'name': 'app1', 'domains': ['app1.example.test'], 'challenge': 'http-01'},
            {'name': 'app2', 'domains': ['app2.example.test'], 'challenge': 'http-01'},
            {'name': 'app3', 'domains': ['app3.example.test'], 'challenge': 'http-01'},
        ],
    })
    root = tmp_path / 'root.pem'
    root.write_bytes(cert_pem(pki.root))
    result = run_playbook(CHECK_PLAYBOOK, inventory=inventory, connection=None, expect_rc=2, extra_vars={
        'autotls_store': {'type': 'local', 'path': str(store)},
        'autotls_acme_ca_bundle': str(root),
    })
    report = result.task('Give each row its colour - red, orange (due), yellow (few days left) or green')
    rows = report['result']['ansible_facts']['autotls_check_report']['rows']
    state = {(r['certificate'], r['source']): (r['status'], r['colour']) for r in rows}
    assert state == {
        ('app1', 'store'): ('ok', 'green'),
        ('app1', 'live'): ('ok', 'green'),
        ('app2', 'store'): ('missing', 'red'),
        ('app2', 'live'): ('name_mismatch', 'red'),
        ('app3', 'store'): ('key_mismatch', 'red'),
        ('app3', 'live'): ('name_mismatch', 'red'),
    }
    key_row = [r for r in rows if r['certificate'] == 'app3' and r['source'] == 'store'][0]
    assert 'does not belong to the certificate' in key_row['detail']

    table = result.task('Show the expiry report')['result']['msg']
    assert table[0].split() == ['CERTIFICATE', 'HOST', 'SOURCE', 'DAYS', 'LEFT', 'NOT', 'AFTER', 'ISSUER', 'STATUS']
    # Columns are aligned: every status starts where the STATUS title does.
    column = table[0].index('STATUS')
    assert all(line[column:].split()[0] in ('ok', 'missing', 'name_mismatch', 'key_mismatch') for line in table[1:7])
    assert table[-1].startswith('6 checked - missing: 1, key_mismatch: 1, name_mismatch: 2, ok: 2; report: ')

    html = (store / 'report.html').read_text()
    # Self-contained: inline style and script, nothing loaded from elsewhere.
    assert html.startswith('<!DOCTYPE html>') and '<style>' in html and '<script src' not in html
    assert 'app1' in html and 'app2' in html
    assert '<tr class="green" data-status="ok"' in html
    assert '<tr class="red" data-status="name_mismatch"' in html
    assert '<tr class="red" data-status="missing"' in html
    assert '<tr class="red" data-status="key_mismatch"' in html
    assert 'Loopback Intermediate' in html and 'Generated at' in html

    # It fails naming each problem, changes nothing, and leaves the store's mode alone.
    failed = result.task('Fail when a certificate is expired, missing, unreachable, mismatched or not verified')
    msg = failed['result']['msg']
    assert msg.startswith('4 problem(s): app2 on (store) (')
    assert 'app3 on (store) (%s/certs/app3/fullchain.pem): key_mismatch - the private key' % store in msg
    assert 'app2 on localhost (127.0.0.1:%d (SNI app2.example.test)): name_mismatch' % scene['good'] in msg
    assert result.changed == []
    assert stat.S_IMODE(os.stat(str(store)).st_mode) == 0o700

    # With the switch it only reports. Without any root known and the system's bundle
    # refused, no chain can be checked: unverified, never ok.
    only = run_playbook(CHECK_PLAYBOOK, inventory=inventory, connection=None, extra_vars={
        'autotls_store': {'type': 'local', 'path': str(store)},
        'autotls_check_report_only': True, 'autotls_check_system_roots': False,
    })
    rows = only.task('Give each row its colour - red, orange (due), yellow (few days left) or green')
    rows = rows['result']['ansible_facts']['autotls_check_report']['rows']
    assert {(r['certificate'], r['source']): r['status'] for r in rows}[('app1', 'store')] == 'unverified'
    assert {(r['certificate'], r['source']): r['status'] for r in rows}[('app1', 'live')] == 'unverified'
    assert only.tasks('Fail when a certificate is expired, missing, unreachable, mismatched or not verified')[0][
        'status'] == 'skipped'
    assert only.changed == []


def test_check_playbook_checks_group_certificates_on_inventory_hosts_only(pki, scene, run_playbook, tmp_path):
    # Certificates of group all: the implicit localhost of check.yml's pattern inherits them,
    # but serves nothing; only web1 is checked live.
    store = tmp_path / 'store'
    pki.write(str(store / 'certs' / 'app1'), ['app1.example.test', '*.qa1.example.test'])
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {
        'vars': {'autotls_certificates': [{'name': 'app1', 'domains': ['app1.example.test'],
                                           'challenge': 'http-01'}]},
        'hosts': {'web1': {'ansible_connection': 'local', 'ansible_host': '127.0.0.1',
                           'autotls_tls_port': scene['good']}}}}))
    root = tmp_path / 'root.pem'
    root.write_bytes(cert_pem(pki.root))
    result = run_playbook(CHECK_PLAYBOOK, inventory=str(inventory), connection=None, extra_vars={
        'autotls_store': {'type': 'local', 'path': str(store)}, 'autotls_acme_ca_bundle': str(root)})
    rows = result.task('Give each row its colour - red, orange (due), yellow (few days left) or green')
    rows = rows['result']['ansible_facts']['autotls_check_report']['rows']
    assert {(r['certificate'], r['host'], r['status']) for r in rows} == {
        ('app1', '(store)', 'ok'), ('app1', 'web1', 'ok')}


def test_check_playbook_runs_on_an_empty_inventory(run_playbook, tmp_path):
    empty = tmp_path / 'empty.yml'
    empty.write_text('')
    report = tmp_path / 'out' / 'report.html'
    result = run_playbook(CHECK_PLAYBOOK, inventory=str(empty), connection=None, extra_vars={
        'autotls_store': {'path': str(tmp_path / 'store')}, 'autotls_report_path': str(report)})
    assert result.task('Show the expiry report')['result']['msg'][-1].startswith('0 checked; report: ')
    assert 'No certificate is declared' in report.read_text()
