# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role ca_trust on real SSH test hosts: a root installed by the role is what makes
curl and Python on one host trust the nginx of another, and removing it takes that away.

app2 serves a certificate for app2.qa1.example.test issued by a throwaway root (files put
in place by the test itself, nginx started inside the host). Every check runs INSIDE app1
(`TestHost.run`), with the host's own trust store, /etc/hosts and tools: curl without
--cacert, Python's ssl.create_default_context(), and Java's keytool.
"""

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization

from testbed.fixtures_hosts import write_inventory
from testbed.hosts import link_hosts, reset_hosts
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT_NAME = 'qa-root'
BODY = 'hello from app2\n'

PLAYBOOK = '''
- hosts: all
  gather_facts: false
  roles:
    - role: autotls.acme.ca_trust
'''

PYTHON_FETCH = (
    "import ssl, sys, urllib.request\n"
    "ctx = ssl.create_default_context()\n"
    "print(urllib.request.urlopen(sys.argv[1], timeout=10, context=ctx).read().decode(), end='')\n")

NGINX_SERVER = '''
server {
    listen %(address)s:443 ssl;
    server_name %(fqdn)s;
    ssl_certificate /etc/ssl/qa/server.crt;
    ssl_certificate_key /etc/ssl/qa/server.key;
    location / {
        default_type text/plain;
        return 200 "%(body)s";
    }
}
'''


@pytest.fixture
def hosts(test_hosts):
    """(client app1, server app2), both fresh; reset again afterwards (trust, nginx)."""
    client, server = test_hosts['app1'], test_hosts['app2']
    reset_hosts([client, server])
    link_hosts(test_hosts)
    yield client, server
    reset_hosts([client, server])
    link_hosts(test_hosts)


@pytest.fixture
def root_ca():
    """A throwaway root CA: (certificate, key)."""
    return make_ca(common_name='autotls ca_trust test root')


def serve_tls(server, root_ca):
    """app2's nginx serves a certificate for its FQDN issued by root_ca on address:443."""
    cert, key = make_server_cert(*root_ca, names=(server.fqdn,), ips=())
    server.write_file('/etc/ssl/qa/server.crt', cert_pem(cert) + cert_pem(root_ca[0]))
    server.write_file('/etc/ssl/qa/server.key', key_pem(key), mode=0o600)
    server.write_file('/etc/nginx/conf.d/qa-tls.conf', NGINX_SERVER % {
        'address': server.address, 'fqdn': server.fqdn, 'body': BODY.replace('\n', '\\n')})
    server.run(['nginx', '-t'], check=True)
    server.run(['nginx'], check=True)


def curl(client, url):
    """curl inside the client host, with the host's own trust store: (rc, body, stderr)."""
    return client.run(['curl', '-sS', '--max-time', '10', url])


def python_fetch(client, url):
    return client.run(['python3', '-c', PYTHON_FETCH, url])


def keytool_alias(client, alias, storepass='changeit', keystore=None):
    store = ['-keystore', keystore] if keystore else ['-cacerts']
    return client.run(['keytool', '-list', '-v', *store, '-storepass', storepass, '-alias', alias])


def sha256_colons(cert):
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def assert_not_trusted(client, url):
    rc, out, err = curl(client, url)
    assert rc == 60, (rc, out, err)   # CURLE_PEER_FAILED_VERIFICATION
    rc, out, err = python_fetch(client, url)
    assert rc != 0 and 'CERTIFICATE_VERIFY_FAILED' in err, (rc, out, err)


def assert_trusted(client, url):
    rc, out, err = curl(client, url)
    assert (rc, out) == (0, BODY), (rc, out, err)
    rc, out, err = python_fetch(client, url)
    assert (rc, out) == (0, BODY), (rc, out, err)


def test_root_installed_then_removed(hosts, root_ca, run_playbook, ansible_env, tmp_path):
    client, server = hosts
    serve_tls(server, root_ca)
    url = 'https://%s/' % server.fqdn
    root_pem = cert_pem(root_ca[0]).decode()
    trust_file = '/usr/local/share/ca-certificates/autotls-%s.crt' % ROOT_NAME
    inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[client])
    env = dict(ansible_env, ANSIBLE_PIPELINING='True')

    def play(state='present', **kwargs):
        return run_playbook(PLAYBOOK, inventory=inventory, connection=None, env=env, extra_vars={
            'autotls_ca_roots': [{'name': ROOT_NAME, 'pem': root_pem}],
            'autotls_ca_trust_state': state}, **kwargs)

    assert_not_trusted(client, url)

    # Check mode: says it would change, changes nothing.
    checked = play(check=True)
    assert checked.stats[client.name]['changed'] > 0
    assert not client.exists(trust_file)
    assert_not_trusted(client, url)

    first = play()
    assert first.stats[client.name]['changed'] > 0
    assert client.read_file(trust_file) == root_pem
    # Trusted at once, by the OS tools, with no --cacert anywhere.
    assert_trusted(client, url)
    # The update ran in the role itself, not in a handler left for later.
    update = first.task('autotls.acme.ca_trust : Update the trust store', client.name)
    assert update['changed'] and update['result']['cmd'] == ['/usr/sbin/update-ca-certificates']
    # Java: the root under the role's alias, with the root's own fingerprint.
    rc, out, err = keytool_alias(client, 'autotls-' + ROOT_NAME)
    assert rc == 0, out + err
    assert sha256_colons(root_ca[0]) in out
    # Debian's hook made its own copy (debian:<file>.pem); the role drops it.
    assert keytool_alias(client, 'debian:autotls-%s.pem' % ROOT_NAME)[0] != 0

    second = play()
    assert second.stats[client.name]['changed'] == 0, [r['task'] for r in second.changed]
    assert_trusted(client, url)

    removed = play('absent')
    assert removed.stats[client.name]['changed'] > 0
    assert not client.exists(trust_file)
    assert_not_trusted(client, url)
    assert keytool_alias(client, 'autotls-' + ROOT_NAME)[0] != 0
    # No link to the removed root is left in /etc/ssl/certs.
    rc, out, _err = client.run(['sh', '-c', 'ls /etc/ssl/certs | grep -c autotls || true'])
    assert out.strip() == '0'

    again = play('absent')
    assert again.stats[client.name]['changed'] == 0, [r['task'] for r in again.changed]


def test_java_keystore_password_never_shown(hosts, root_ca, run_playbook, ansible_env, tmp_path):
    """A keystore with its own password: the root goes in, the password shows nowhere, even at -vvv."""
    client = hosts[0]
    storepass = 'S3cret-%s' % hashlib.sha256(tmp_path.name.encode()).hexdigest()[:12]
    keystore = '/root/qa-truststore.jks'
    client.run(['cp', '/etc/ssl/certs/java/cacerts', keystore], check=True)
    client.run(['keytool', '-storepasswd', '-keystore', keystore, '-storepass', 'changeit',
                '-new', storepass], check=True)
    # keytool as the role runs it, recording its command line (what `ps` shows on the host).
    spy, argv_log = '/root/keytool-spy', '/root/keytool-argv.log'
    client.run(['sh', '-c', 'rm -f %s && cat > %s && chmod 0755 %s' % (argv_log, spy, spy)], check=True,
               input='#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec /usr/bin/keytool "$@"\n' % argv_log)
    inventory = write_inventory(tmp_path / 'inventory.yml', hosts=[client])
    extra = {'autotls_ca_roots': [{'name': ROOT_NAME, 'pem': cert_pem(root_ca[0]).decode()}],
             'autotls_ca_trust_java': True,
             'autotls_ca_trust_java_keytool': spy,
             'autotls_ca_trust_java_keystore': keystore,
             'autotls_ca_trust_java_storepass': storepass}

    result = run_playbook(PLAYBOOK, inventory=inventory, connection=None, extra_vars=extra,
                          args=['-vvv'])
    rc, out, err = keytool_alias(client, 'autotls-' + ROOT_NAME, storepass, keystore)
    assert rc == 0 and sha256_colons(root_ca[0]) in out, out + err
    assert storepass not in result.stdout + result.stderr
    assert storepass not in json.dumps(result.results)
    argv = client.run(['cat', argv_log], check=True)[1]
    assert '-importcert' in argv and '-storepass:env AUTOTLS_STOREPASS' in argv, argv
    assert storepass not in argv, argv

    # A wrong password fails with keytool's own message, still without the password.
    wrong = dict(extra, autotls_ca_trust_java_storepass=storepass + 'x')
    failed = run_playbook(PLAYBOOK, inventory=inventory, connection=None, extra_vars=wrong,
                          expect_rc=2, args=['-vvv'])
    assert 'password was incorrect' in failed.stdout
    assert storepass not in failed.stdout + failed.stderr
