#!/usr/bin/env python
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: the nightly job, end to end, on an embedded default.

Starts a local ACME CA (Pebble), a Route53 API (moto) and a DNS server answering from
it, all on loopback; makes the hosted zones example.test and qa1.example.test; writes
an inventory that declares a wildcard-plus-apex certificate for qa1 and a certificate
spanning both zones; runs playbooks/renew.yml twice (the second run has nothing to do);
shows the certificate and verifies its chain against the CA's root. Stops everything.
"""

import os
import subprocess
import sys
import tempfile
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))

from testbed.bed import Testbed  # noqa: E402  (the test bed doubles as the demo's CA)
from testbed.collection import link_collection  # noqa: E402
from testbed.fixtures import ansible_environment  # noqa: E402


def collections_path():
    return link_collection(REPO)


def write_inventory(directory, bed, store):
    os.makedirs(os.path.join(directory, 'group_vars'), exist_ok=True)
    files = {
        'hosts.ini': """
            [qa1]
            app1.qa1.example.test
            app2.qa1.example.test

            [web]
            www.example.test
            """,
        'group_vars/all.yml': """
            autotls_acme_directory: %s
            autotls_acme_ca_bundle: %s
            autotls_account_email: ops@example.test
            autotls_terms_agreed: true
            autotls_store: {type: local, path: %s}
            autotls_renew_before: {days: 30, fraction: 0.33}
            # The embedded Route53 API and the name server that answers for its zones.
            autotls_route53: {endpoint_url: "%s"}
            autotls_dns_servers: ["%s"]
            # The demo's hosts are names only: there is no server to deploy to.
            autotls_deploy: false
            """ % (bed.pebble.directory_url, bed.pebble.ca_bundle, store, bed.moto.endpoint_url, bed.dns.address),
        'group_vars/qa1.yml': """
            autotls_certificates:
              - name: qa1-wildcard
                domains: ["*.qa1.example.test", qa1.example.test]
                challenge: dns-01
            """,
        'group_vars/web.yml': """
            autotls_certificates:
              - name: www
                domains: [www.example.test, www.qa1.example.test]
                key_type: rsa2048
            """,
    }
    for name, text in files.items():
        with open(os.path.join(directory, name), 'w') as handle:
            handle.write(textwrap.dedent(text).lstrip())
    return os.path.join(directory, 'hosts.ini')


def main():
    workdir = tempfile.mkdtemp(prefix='autotls-demo-')
    store = os.path.join(workdir, 'store')
    env = ansible_environment({'ANSIBLE_COLLECTIONS_PATH': collections_path()})
    # The tests' result recorder is not wanted here.
    for name in ('ANSIBLE_CALLBACKS_ENABLED', 'ANSIBLE_CALLBACK_PLUGINS'):
        env.pop(name, None)
    with Testbed(workdir=os.path.join(workdir, 'testbed')) as bed:
        bed.create_zone('example.test')
        bed.create_zone('qa1.example.test')
        inventory = write_inventory(os.path.join(workdir, 'inventory'), bed, store)
        playbook = os.path.join(REPO, 'playbooks', 'renew.yml')
        for attempt in ('first run: issues', 'second run: nothing is due'):
            print('\n=== ansible-playbook playbooks/renew.yml (%s) ===' % attempt, flush=True)
            proc = subprocess.run(['ansible-playbook', '-i', inventory, playbook], env=env, check=False)
            if proc.returncode != 0:
                print('demo: renew.yml failed (exit %d)' % proc.returncode)
                return proc.returncode
        root = os.path.join(workdir, 'ca-root.pem')
        with open(root, 'w') as handle:
            handle.write(bed.pebble.roots_pem())
        cert_dir = os.path.join(store, 'certs', 'qa1-wildcard')
        print('\n=== the certificate in %s ===' % cert_dir, flush=True)
        subprocess.run(['openssl', 'x509', '-in', os.path.join(cert_dir, 'cert.pem'), '-noout',
                        '-subject', '-issuer', '-dates', '-ext', 'subjectAltName'], check=True)
        verify = subprocess.run(['openssl', 'verify', '-CAfile', root, '-untrusted',
                                 os.path.join(cert_dir, 'chain.pem'), os.path.join(cert_dir, 'cert.pem')],
                                check=False)
        leftovers = bed.txt_values('_acme-challenge.qa1.example.test')
        print('challenge TXT values left in Route53: %s' % (sorted(leftovers) or 'none'))
        print('\nFiles: %s (the CA and the DNS stopped with this command)' % store)
        return verify.returncode or (1 if leftovers else 0)


if __name__ == '__main__':
    sys.exit(main())
