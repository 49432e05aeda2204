# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two private CAs as issuers in order, through the playbooks, on a real SSH test host.

docs/issuers.md section 5 as written: two step-ca instances (the first started here, the
second the session's), each trusted by its root's fingerprint; app2 serves a certificate
over HTTP-01. Only what must point at the test bed is changed (directories, fingerprints,
store, the host's connection). Three runs:

0. onboard.yml with a wrong fingerprint for the second issuer: refused at its first task;
   nothing is written, neither in the store nor in the host's trust store (the first
   issuer's root, fetched and checked, is not half-installed);
1. onboard.yml as the guide says: both roots in app2's trust store; the certificate comes
   from the first CA, and curl and openssl s_client on the host, with the system store
   only, trust it;
2. the first CA's process is stopped; renew.yml (certificate due) still trusts it by the
   root kept in the store, orders from the second CA, reports the move, deploys and
   reloads; the host's system store trusts the second CA's certificate too;
3. revoke.yml (the first CA still stopped): the certificate is revoked at the second CA,
   the issuer the store recorded, over the root fetched by its fingerprint, and the CA
   holds it as revoked; the replacement comes from the second CA again and is served.
"""

import copy
import json
import os

import pytest
import yaml
from cryptography import x509

from testbed.doc_examples import guide_inventory
from testbed.fixtures_hosts import write_inventory
from testbed.stepca import StepCA
from testbed.tls import served_serial

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ONBOARD = os.path.join(REPO, 'playbooks', 'onboard.yml')
RENEW = os.path.join(REPO, 'playbooks', 'renew.yml')
REVOKE = os.path.join(REPO, 'playbooks', 'revoke.yml')
GUIDE = 'docs/issuers.md'
SECTION = "5. Two private CAs: both roots in every host's trust store"
NAME = 'app2.internal.example.com'
FETCHED = 'autotls.acme.issue : Fetch the CA roots and check their fingerprints'
ISSUED = 'autotls.acme.issue : Sum up what was issued and what failed'
TRUST_DIR = '/usr/local/share/ca-certificates'


def _inventory(directory, host, cas, store, fingerprints=None):
    """The guide's section 5 inventory on the test bed; returns the path of hosts.yml."""
    files = copy.deepcopy(guide_inventory(GUIDE, section=SECTION))
    all_vars = files['group_vars/all.yml']
    issuers = all_vars['autotls_issuers']
    assert [i['name'] for i in issuers] == ['internal', 'internal-dr'], 'update the test bed mapping of %s' % GUIDE
    for index, (issuer, ca) in enumerate(zip(issuers, cas)):
        issuer.update(directory=ca.directory_url, fingerprint=(fingerprints or {}).get(index, ca.root_fingerprint))
    assert 'autotls_store' in all_vars
    all_vars['autotls_store'] = {'type': 'local', 'path': store}
    host_vars = files.pop('host_vars/app2.yml')
    assert [c['domains'] for c in host_vars['autotls_host_certificates']] == [[NAME]]
    # The host's own address for nginx; the JVM makes keytool slow (ca_trust's own tests cover Java).
    host_vars.update(autotls_nginx_listen_address=host.address, autotls_nginx_ipv6=False, autotls_ca_trust_java=False)
    for name, data in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as handle:
            yaml.safe_dump(data, handle)
    return write_inventory(os.path.join(directory, 'hosts.yml'), hosts=[host], host_vars={host.name: host_vars})


def _trusted_by_the_system(host):
    """curl and openssl s_client inside the host, with its own trust store only."""
    resolve = '%s:443:%s' % (NAME, host.address)
    rc, out, err = host.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', resolve,
                             'https://%s/' % NAME])
    assert rc == 0 and out in ('200', '403', '404'), (rc, out, err)
    rc, out, err = host.run(['openssl', 's_client', '-connect', '%s:443' % host.address, '-servername', NAME,
                             '-verify_return_error'], input='')
    assert rc == 0 and 'Verify return code: 0 (ok)' in out, (rc, out[-600:], err)


def _stored(store):
    with open(os.path.join(store, 'certs', 'app2', 'cert.pem'), 'rb') as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _trust_files(host):
    return sorted(os.listdir(host.path(TRUST_DIR))) if host.exists(TRUST_DIR) else []


def _issued_by(store, ca):
    """Whether the stored certificate of app2 was signed by ``ca``'s intermediate."""
    cert = _stored(store)
    intermediate = x509.load_pem_x509_certificate(ca.intermediate_pem.encode())
    try:
        cert.verify_directly_issued_by(intermediate)
    except Exception:  # pylint: disable=broad-except
        return False
    return True


def _served_is_stored(host, store):
    return served_serial(host.address, NAME) == '%x' % _stored(store).serial_number


@pytest.mark.timeout(600)
def test_two_private_cas_trusted_on_the_host_and_the_second_takes_over(
        stepca, test_hosts, route53, testbed, run_playbook, tmp_path):
    host = test_hosts['app2']
    host.reset()
    zone = route53.create_zone('internal.example.com')
    route53.upsert_record(zone, NAME, 'A', [host.address])
    store = str(tmp_path / 'store')
    with StepCA(testbed.dns.address, tmp_path / 'ca-main', name='step-ca-main') as main_ca:
        cas = (main_ca, stepca)
        trust_before = _trust_files(host)

        # 0. One digit off in the second issuer's fingerprint: refused before anything is written.
        typo = stepca.root_fingerprint[:-1] + ('0' if stepca.root_fingerprint[-1] != '0' else '1')
        refused = run_playbook(ONBOARD, expect_rc=2, connection=None,
                               inventory=_inventory(str(tmp_path / 'typo'), host, cas, store, {1: typo}))
        failed = list(refused.failed)
        assert [r['task'] for r in failed] == [FETCHED], [(r['task'], r['result'].get('msg')) for r in failed]
        items = failed[0]['result']['results']
        assert [i['item']['issuer'] for i in items] == ['internal', 'internal-dr']
        assert not items[0].get('failed') and items[1]['failed']
        assert typo in items[1]['msg'] and stepca.root_fingerprint in items[1]['msg'], items[1]['msg']
        assert not [r for r in refused.results if r['task'].startswith('autotls.acme.ca_trust')]
        assert _trust_files(host) == trust_before
        assert not os.path.exists(os.path.join(store, 'ca-root.pem'))
        assert not os.path.exists(os.path.join(store, 'ca-root-internal-dr.pem'))

        # 1. As the guide says: both roots in the host's trust store, the certificate from the first CA.
        inventory = _inventory(str(tmp_path / 'inventory'), host, cas, store)
        run_playbook(ONBOARD, inventory=inventory, connection=None)
        for trust_file, ca in (('autotls-acme-ca.crt', main_ca), ('autotls-acme-ca-internal-dr.crt', stepca)):
            assert host.read_file('%s/%s' % (TRUST_DIR, trust_file)).strip() == ca.root_pem.strip(), trust_file
        assert _issued_by(store, main_ca) and not _issued_by(store, stepca)
        assert _served_is_stored(host, store)
        _trusted_by_the_system(host)

        # 2. The first CA's process is stopped; the certificate is due (forced, as a due one is ordered).
        main_ca.stop()
        run = run_playbook(RENEW, inventory=inventory, connection=None, extra_vars={'autotls_force': True})
        [fetched_main, fetched_dr] = run.task(FETCHED)['result']['results']
        assert fetched_main['ca_unreachable'] is True and fetched_dr['ca_unreachable'] is False
        assert 'could not be reached' in json.dumps(run.task(FETCHED)), run.task(FETCHED)
        [entry] = run.task(ISSUED)['result']['ansible_facts']['autotls_issue_results']
        assert entry['action'] == 'renew' and not entry.get('failed') and entry['acme_issuer'] == 'internal-dr', entry
        assert entry['moved'] is True and entry['issuers_tried'][0].startswith('internal: unreachable ('), entry
        summed = run.task('Sum up the run')['result']['msg']
        assert any(line.startswith('  - app2: ') and 'from internal-dr (moved; internal: unreachable' in line
                   for line in summed), summed
        assert _issued_by(store, stepca) and _served_is_stored(host, store)
        _trusted_by_the_system(host)

        # 3. The key leaked: revoked where the store says it was issued, then replaced.
        old_serial = '%x' % _stored(store).serial_number
        run = run_playbook(REVOKE, inventory=inventory, connection=None, extra_vars={'autotls_revoke': 'app2'})
        revoked = run.task('Revoke the current certificate and check it at the CA')['result']
        assert revoked['serial'] == old_serial and revoked['reason'] == 'keyCompromise', revoked
        assert (revoked['acme_issuer'], revoked['issuer_found_by']) == ('internal-dr', 'recorded'), revoked
        # step-ca publishes neither OCSP nor a CRL here: its ACME endpoint answered alreadyRevoked.
        assert revoked['check']['revoked'] is True and revoked['check']['method'] == 'acme', revoked['check']
        assert os.path.isfile(os.path.join(store, 'revoked', 'app2', old_serial, 'cert.pem'))
        [entry] = run.task(ISSUED)['result']['ansible_facts']['autotls_issue_results']
        assert entry['acme_issuer'] == 'internal-dr' and entry['moved'] is True, entry
        assert '%x' % _stored(store).serial_number != old_serial
        assert _issued_by(store, stepca) and _served_is_stored(host, store)
