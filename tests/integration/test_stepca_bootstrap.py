# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real step-ca 0.19 (built from Debian's sources) on the session test bed: its own
endpoints, an ACME account through certbot's library, then autotls.acme.ca_roots and
autotls.acme.certificate against it through ansible-playbook."""

import hashlib
import os
import subprocess

import josepy
import requests
from acme import client as acme_client
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import generate_private_key, make_csr

BOOTSTRAP = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: bootstrap
      autotls.acme.ca_roots:
        url: "{{ ca_url }}"
        fingerprint: "{{ fingerprint }}"
        fetch: "{{ fetch | default('root') }}"
        dest: "{{ dest }}"
"""

ISSUE = BOOTSTRAP + """
    - name: issue
      autotls.acme.certificate:
        acme_directory: "{{ directory }}"
        acme_ca_bundle: "{{ dest }}"
        account_key_src: "{{ account_key }}"
        account_email: ops@example.test
        terms_agreed: true
        aws_endpoint_url: "{{ aws_endpoint }}"
        dns_servers: ["{{ dns_server }}"]
        dns_propagation_timeout: 30
        timeout: 90
        dest: "{{ certs }}"
        certificates: "{{ certificates }}"
"""


def _fingerprint(pem):
    cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# ---- step-ca itself -----------------------------------------------------------------------

def test_stepca_serves_directory_roots_and_root_by_fingerprint(stepca):
    directory = stepca.get('/acme/acme/directory').json()
    assert directory['newAccount'] == stepca.url + '/acme/acme/new-account'
    assert stepca.directory_url == stepca.url + '/acme/acme/directory'

    roots_pem = stepca.get('/roots.pem').text
    assert [_fingerprint(roots_pem)] == [stepca.root_fingerprint]

    by_fingerprint = stepca.get('/root/' + stepca.root_fingerprint)
    assert by_fingerprint.status_code == 200
    assert _fingerprint(by_fingerprint.json()['ca']) == stepca.root_fingerprint
    assert stepca.root_fingerprint == _fingerprint(stepca.root_pem)
    assert stepca.get('/root/' + '00' * 32).status_code == 404

    roots = stepca.get('/roots')
    assert roots.status_code == 201  # sic: step-ca 0.19 answers GET /roots with 201 Created
    assert [_fingerprint(c) for c in roots.json()['crts']] == [stepca.root_fingerprint]


def test_stepca_tls_endpoint_verifies_with_curl_and_the_root(stepca):
    # An independent client: curl with the root as its only trust anchor.
    out = subprocess.run(['curl', '-sS', '--cacert', stepca.root_path, stepca.url + '/health'],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0 and '"ok"' in out.stdout, out.stderr
    out = subprocess.run(['curl', '-sS', '-o', '/dev/null', stepca.url + '/health'],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 60  # not trusted without the root


def test_stepca_accepts_an_acme_account_and_an_order(stepca, route53):
    zone = route53.create_zone('stepca.example.test')
    route53.upsert_record(zone, 'app.stepca.example.test', 'A', ['127.0.0.1'])

    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = acme_client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=stepca.root_path,
                                    user_agent='autotls-tests')
    directory = acme_client.ClientV2.get_directory(stepca.directory_url, net)
    acme = acme_client.ClientV2(directory, net)
    account = acme.new_account(messages.NewRegistration.from_data(
        email='ops@example.test', terms_of_service_agreed=True))
    assert account.body.status == 'valid'  # a plain string in Registration, unlike Order
    assert account.uri.startswith(stepca.url + '/acme/acme/account/')

    order = acme.new_order(make_csr(generate_private_key('ec256'), ['app.stepca.example.test']))
    assert order.body.status == messages.STATUS_PENDING
    [authz] = order.authorizations
    assert authz.body.identifier.value == 'app.stepca.example.test'
    # certbot's library knows no tls-alpn-01 class: read the type from the JSON.
    offered = sorted(c.to_partial_json()['type'] for c in authz.body.challenges)
    assert offered == ['dns-01', 'http-01', 'tls-alpn-01']


# ---- autotls.acme.ca_roots ------------------------------------------------------------------

def test_ca_roots_bootstraps_by_fingerprint_then_changes_nothing(stepca, run_playbook, tmp_path):
    dest = tmp_path / 'ca-root.pem'
    colon_upper = ':'.join(stepca.root_fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
    extra = dict(ca_url=stepca.url, fingerprint=colon_upper, dest=str(dest))

    checked = run_playbook(BOOTSTRAP, extra, check=True).task('bootstrap')
    assert checked['changed'] is True and not dest.exists()

    first = run_playbook(BOOTSTRAP, extra).task('bootstrap')
    result = first['result']
    assert first['changed'] is True
    assert result['endpoint_verified'] is True and 'endpoint_error' not in result
    assert result['fingerprint'] == stepca.root_fingerprint
    assert result['subject'] == 'CN=autotls testbed step-ca root,O=autotls testbed'
    assert result['source_url'] == stepca.url + '/root/' + stepca.root_fingerprint
    assert _fingerprint(dest.read_bytes()) == stepca.root_fingerprint
    assert oct(dest.stat().st_mode & 0o777) == '0o644'
    # The file really is the CA bundle for the CA: an independent client agrees.
    assert requests.get(stepca.url + '/health', verify=str(dest), timeout=10).ok

    second = run_playbook(BOOTSTRAP, extra).task('bootstrap')
    assert second['changed'] is False

    # From the ACME directory URL, picking the root out of /roots.pem.
    roots = run_playbook(BOOTSTRAP, dict(extra, ca_url=stepca.directory_url, fetch='roots')).task('bootstrap')
    assert roots['changed'] is False
    assert roots['result']['source_url'] == stepca.url + '/roots.pem'
    assert roots['result']['ignored_roots'] == 0 and roots['result']['endpoint_verified'] is True


def test_ca_roots_refuses_a_wrong_fingerprint_and_writes_nothing(stepca, run_playbook, tmp_path):
    dest = tmp_path / 'ca-root.pem'
    wrong = hashlib.sha256(b'not the root').hexdigest()
    for fetch in ('root', 'roots'):
        run = run_playbook(BOOTSTRAP, dict(ca_url=stepca.url, fingerprint=wrong, dest=str(dest), fetch=fetch),
                           expect_rc=2)
        task = run.task('bootstrap')
        assert task['failed'] is True
        message = task['result']['msg']
        assert wrong in message and stepca.root_fingerprint in message, message
        assert task['result']['actual_fingerprints'] == [stepca.root_fingerprint]
        assert not dest.exists()


# ---- autotls.acme.certificate against step-ca -------------------------------------------------

def test_certificate_issues_from_stepca_with_dns01(stepca, route53, run_playbook, tmp_path):
    route53.create_zone('private.example.test')
    certs = tmp_path / 'certs'
    extra = dict(
        ca_url=stepca.url, fingerprint=stepca.root_fingerprint, dest=str(tmp_path / 'ca-root.pem'),
        directory=stepca.directory_url, account_key=str(tmp_path / 'account.pem'),
        aws_endpoint=route53.moto.endpoint_url, dns_server=route53.dns.address, certs=str(certs),
        certificates=[{'name': 'app1', 'domains': ['app1.private.example.test'], 'challenge': 'dns-01'}])

    run = run_playbook(ISSUE, extra)
    result = run.task('issue')['result']
    [cert] = result['certificates']
    assert result['account_created'] is True
    assert result['account_uri'].startswith(stepca.url + '/acme/acme/account/')
    assert cert['action'] == 'issue' and cert['domains'] == ['app1.private.example.test']
    assert cert['issuer'] == 'autotls testbed step-ca intermediate'
    assert 0.99 < cert['days_left'] <= 1.0  # step-ca's default lifetime: 24 hours
    # The chain verifies against the bootstrapped root, with nothing else trusted.
    out = subprocess.run(['openssl', 'verify', '-CAfile', str(tmp_path / 'ca-root.pem'),
                          '-untrusted', str(certs / 'app1' / 'chain.pem'), str(certs / 'app1' / 'cert.pem')],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert route53.txt_values('_acme-challenge.app1.private.example.test') == set()

    again = run_playbook(ISSUE, extra)
    assert again.task('issue')['result']['changed'] is False
    assert again.task('bootstrap')['changed'] is False
    assert os.path.exists(certs / 'app1' / 'privkey.pem')


# ---- the module's EXAMPLES, as written --------------------------------------------------------

def test_ca_roots_examples_run_as_written(stepca, route53, run_playbook, ansible_env, tmp_path):
    """ca_roots' EXAMPLES run against step-ca. Only what must point at the test bed is
    replaced: the CA's address, the controller paths (into tmp_path), the Route53 endpoint and
    the DNS server to check propagation with (module_defaults), and the fingerprint variable,
    given in OpenSSL's colon form as the last example says it may be."""
    import yaml  # pylint: disable=import-outside-toplevel
    from ansible_collections.autotls.acme.plugins.modules import ca_roots  # pylint: disable=import-outside-toplevel

    route53.create_zone('internal.example.com')
    text = (ca_roots.EXAMPLES.replace('https://ca.internal:9443', stepca.url)
            .replace('/srv/autotls', str(tmp_path / 'srv')))
    (tmp_path / 'srv').mkdir()
    colons = ':'.join(stepca.root_fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
    play = [{'hosts': 'localhost', 'gather_facts': False,
             'vars': {'autotls_ca_root_fingerprint': colons},
             'module_defaults': {'autotls.acme.certificate': {
                 'aws_endpoint_url': route53.moto.endpoint_url, 'dns_servers': [route53.dns.address],
                 'dns_propagation_timeout': 30, 'timeout': 90}},
             'tasks': yaml.safe_load(text)}]
    run = run_playbook(play, env=dict(ansible_env, HOME=str(tmp_path / 'home')))  # ~/.config/autotls

    first = run.task("Trust the private CA's root, by its fingerprint")['result']
    assert first['fingerprint'] == stepca.root_fingerprint and first['changed'] is True
    [cert] = run.task('Use it as the CA bundle of the ACME client')['result']['certificates']
    assert cert['action'] == 'issue' and cert['issuer'] == 'autotls testbed step-ca intermediate'
    assert (tmp_path / 'srv' / 'certs' / 'app1' / 'fullchain.pem').exists()
    assert (tmp_path / 'home' / '.config' / 'autotls' / 'account.pem').exists()
    roots = run.task('Pick the right root out of all roots the CA serves')['result']
    assert roots['fingerprint'] == stepca.root_fingerprint and roots['changed'] is False
