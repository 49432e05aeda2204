# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rest of a certificate's and an account's life, through the playbooks, on real CAs:
revoke and replace (revoke.yml), account key rollover, contact and deactivation
(account.yml), and retirement of what no host declares any more.

Both inventories list two issuers (autotls_issuers): revocation goes to the issuer that
issued the certificate (here the second: the first rate-limited the onboarding run, through
testbed/ca_proxy.py), and account.yml acts on the issuer it is given by name."""

import json
import os
import time
import uuid

import requests
import yaml
from cryptography import x509

from testbed.ca_proxy import ORDER as NEW_ORDER, CaProxy
from testbed.fixtures_hosts import write_inventory
from testbed.tls import served_serial

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ONBOARD = os.path.join(REPO, 'playbooks', 'onboard.yml')
REVOKE = os.path.join(REPO, 'playbooks', 'revoke.yml')
RETIRE = os.path.join(REPO, 'playbooks', 'retire.yml')
RENEW = os.path.join(REPO, 'playbooks', 'renew.yml')
ISSUED = 'autotls.acme.issue : Answer the challenges, finalize and store the certificates'


def _stored(store, name):
    with open(os.path.join(store, 'certs', name, 'cert.pem'), 'rb') as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _wait_served(host, name, serial, seconds=10):
    deadline = time.monotonic() + seconds
    while served_serial(host.address, name) != serial:
        assert time.monotonic() < deadline, '%s did not start serving %s' % (host.name, serial)
        time.sleep(0.1)


def _pebble_status(pebble, serial_hex):
    """What Pebble itself holds about a serial (its management API), independent of the collection."""
    response = requests.get('%s/cert-status-by-serial/%s' % (pebble.management_url, serial_hex),
                            verify=pebble.ca_bundle, timeout=10)
    response.raise_for_status()
    return response.json()


def _inventory(tmp_path, hosts, issuers, testbed, store, more=(), path='inventory.yml', **extra):
    host_vars = {host.name: {'autotls_nginx_listen_address': host.address, 'autotls_nginx_ipv6': False,
                             'autotls_ca_trust_java': False,
                             'autotls_host_certificates': [{'name': host.name, 'domains': [host.fqdn],
                                                            'challenge': 'http-01'}] + list(more)}
                 for host in hosts}
    all_vars = {'autotls_issuers': [{'name': name, 'directory': ca.directory_url, 'ca_bundle': ca.ca_bundle}
                                    for name, ca in issuers],
                'autotls_terms_agreed': True, 'autotls_store': {'type': 'local', 'path': store},
                'autotls_dns_servers': [testbed.dns.address], 'autotls_store_owner': 'qa1'}
    all_vars.update(extra)
    return write_inventory(tmp_path / path, hosts=hosts, host_vars=host_vars, group_vars={'all': all_vars})


def _no_lease(store):
    """The store's lease was given back (revoke.yml and account.yml hold it as issue.yml does)."""
    return not os.path.exists(os.path.join(store, '.autotls-lease.json'))


def test_revoke_and_replace_then_retire_what_no_host_declares(
        pebble_factory, test_hosts, host_dns, testbed, run_playbook, tmp_path):
    """One onboarded host for both: revoke.yml on its own certificate, then retirement of a second one.

    Two issuers: the first rate-limits the onboarding run, so both certificates come from the
    second; revocations must go there (with its account), the replacement to the first again."""
    app3 = test_hosts['app3']
    app3.reset()
    first_pebble, pebble = pebble_factory(http_port=80), pebble_factory(http_port=80)
    proxy = CaProxy(first_pebble, 'first')
    with proxy:
        _revoke_and_retire(proxy, first_pebble, pebble, app3, host_dns, testbed, run_playbook, tmp_path)


def _revoke_and_retire(proxy, first_pebble, pebble, app3, host_dns, testbed, run_playbook, tmp_path):
    store = str(tmp_path / 'store')
    issuers = [('first', proxy), ('second', pebble)]
    old_fqdn = host_dns.add(app3, fqdn='old.qa1.example.test')
    retiring = [{'name': 'old', 'domains': [old_fqdn], 'challenge': 'http-01'}]
    inventory = _inventory(tmp_path, [app3], issuers, testbed, store, more=retiring)
    proxy.fail(NEW_ORDER, 429, 'rateLimited', retry_after=3600)
    run_playbook(ONBOARD, inventory=inventory, connection=None)
    proxy.heal()
    old = _stored(store, 'app3')
    old_serial = '%x' % old.serial_number
    _wait_served(app3, app3.fqdn, old_serial)
    assert _pebble_status(pebble, old_serial)['Status'] == 'Valid'          # from the second issuer

    # A --limit that leaves out a host that serves it is refused before anything is contacted.
    elsewhere = dict(app3.inventory_vars(), autotls_host_certificates=[
        {'name': 'app3', 'domains': [app3.fqdn], 'challenge': 'http-01'}])
    both = _inventory(tmp_path, [app3], issuers, testbed, store, more=retiring, path='both.yml')
    with open(both, encoding='utf-8') as handle:
        tree = yaml.safe_load(handle)
    tree['all']['hosts']['elsewhere'] = elsewhere
    with open(both, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(tree, handle)
    limited = run_playbook(REVOKE, inventory=both, connection=None, expect_rc=2, args=['--limit', 'app3'],
                           extra_vars={'autotls_revoke': 'app3'})
    assert 'app3 is also served by elsewhere, which this run leaves out (--limit app3)' in limited.stdout
    assert 'Run revoke.yml without --limit' in limited.stdout
    assert _pebble_status(pebble, old_serial)['Status'] == 'Valid'

    # (Bad input is refused before anything is contacted: tests/unit/playbooks/test_revoke_input.py.)

    # The whole run under --limit: every host that serves app3 is in it.
    result = run_playbook(REVOKE, inventory=inventory, connection=None, args=['--limit', 'app3'],
                          extra_vars={'autotls_revoke': 'app3'})
    revoked = result.task('Revoke the current certificate and check it at the CA')['result']
    assert (revoked['serial'], revoked['reason'], revoked['revoked_with']) == (old_serial, 'keyCompromise', 'account')
    # At the issuer that issued it, as the store recorded; with that issuer's account.
    assert (revoked['acme_issuer'], revoked['issuer_found_by']) == ('second', 'recorded')
    assert _no_lease(store)
    # Pebble publishes neither OCSP nor a CRL: the ACME endpoint's own answer confirmed it.
    assert revoked['check']['revoked'] is True and revoked['check']['method'] == 'acme'
    status = _pebble_status(pebble, old_serial)
    assert status['Status'] == 'Revoked' and status['Reason'] == 1          # keyCompromise, at the CA itself
    # The old set is out of the store, the new certificate has a new key and is served.
    assert os.path.isfile(os.path.join(store, 'revoked', 'app3', old_serial, 'cert.pem'))
    new = _stored(store, 'app3')
    new_serial = '%x' % new.serial_number
    assert new_serial != old_serial and new.public_key() != old.public_key()
    _wait_served(app3, app3.fqdn, new_serial)
    assert _pebble_status(first_pebble, new_serial)['Status'] == 'Valid'   # the first issuer takes orders again
    report = result.task('Report both serials')['result']['msg']
    assert report[0].startswith('Revoked app3 serial %s at second (keyCompromise, signed by the account)' % old_serial)
    assert report[1].startswith('New certificate app3 serial %s' % new_serial) and report[1].endswith(
        'deployed to app3.')

    # Retirement: "old" leaves the inventory. Its files, its server block and its store entry stay
    # until a run over the whole inventory with autotls_retire: true. From here the store is an S3
    # bucket (moto), the local store its working copy, as in AWX.
    retired_serial = '%x' % _stored(store, 'old').serial_number
    with open(os.path.join(store, 'certs', 'old', 'issuer.json'), encoding='utf-8') as handle:
        assert json.load(handle)['owner'] == 'qa1'        # this inventory's: its retirement may set it aside
    block = '/etc/nginx/conf.d/autotls-tls-old.conf'
    assert app3.exists(block) and app3.exists('/etc/autotls/certs/old/privkey.pem')
    s3, bucket = testbed.moto.client('s3'), 'autotls-retire-%s' % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    s3_store = {'type': 's3', 'bucket': bucket, 'prefix': 'qa1/', 'path': store,
                'endpoint_url': testbed.moto.endpoint_url, 'region': 'us-east-1'}
    inventory = _inventory(tmp_path, [app3], issuers, testbed, store, autotls_retire=True, autotls_retire_revoke=True,
                           autotls_store=s3_store)
    limited = run_playbook(RETIRE, inventory=inventory, connection=None, args=['--limit', 'app3'])
    assert limited.task('Say why nothing is retired')['result']['msg'].startswith(
        'Nothing retired: the run is limited (--limit app3)')
    dry = run_playbook(RETIRE, inventory=inventory, connection=None, check=True)
    assert dry.task('Report what was retired')['result']['msg'] == [
        'old: would be taken off app3; would be set aside in %s/retired/old/%s, serial %s revoked '
        '(cessationOfOperation).' % (store, retired_serial, retired_serial)]
    assert app3.exists(block) and os.path.isdir(os.path.join(store, 'certs', 'old'))
    assert _pebble_status(pebble, retired_serial)['Status'] == 'Valid'
    # Neither run took the lease or pushed: the bucket is as empty as it was.
    assert 'Contents' not in s3.list_objects_v2(Bucket=bucket)

    # The nightly job: its issue stage seeds the bucket, its retirement pulls it under the lease,
    # takes "old" off the host, revokes it, sets it aside and pushes.
    nightly = run_playbook(RENEW, inventory=inventory, connection=None)
    assert nightly.task('Report what was retired')['result']['msg'] == [
        'old: was taken off app3; was set aside in %s/retired/old/%s, serial %s revoked (cessationOfOperation, '
        'confirmed by the CA).' % (store, retired_serial, retired_serial)]
    assert not app3.exists(block) and not app3.exists('/etc/autotls/certs/old')
    assert app3.exists('/etc/autotls/certs/app3/privkey.pem')
    assert not os.path.exists(os.path.join(store, 'certs', 'old'))
    status = _pebble_status(pebble, retired_serial)
    assert status['Status'] == 'Revoked' and status['Reason'] == 5       # cessationOfOperation
    _wait_served(app3, app3.fqdn, new_serial)                            # nginx reloaded, still serving app3
    pushed = nightly.task('Push the working copy back to the store')['result']
    assert 'certs/old/cert.pem' in pushed['removed'] and 'retired/old/%s/cert.pem' % retired_serial in pushed['pushed']
    assert 'Contents' not in s3.list_objects_v2(Bucket=bucket, Prefix='qa1/.autotls-lease')

    # The next night, in a fresh container: the pull brings "old" set aside, not current, and
    # nothing is retired (or revoked) again.
    fresh = str(tmp_path / 'fresh-working-copy')
    again = run_playbook(RETIRE, inventory=_inventory(tmp_path, [app3], issuers, testbed, store, autotls_retire=True,
                                                      autotls_retire_revoke=True,
                                                      autotls_store=dict(s3_store, path=fresh)), connection=None)
    assert again.task('Report what was retired')['result']['msg'] == [
        'Nothing to retire: every certificate in the store and on the hosts is declared.']
    assert not [r for r in again.results if r['action'] == 'autotls.acme.revoke' and r['result'].get('results')]
    assert os.path.isfile(os.path.join(fresh, 'retired', 'old', retired_serial, 'cert.pem'))
    assert not os.path.exists(os.path.join(fresh, 'certs', 'old'))
    assert os.path.isfile(os.path.join(fresh, 'certs', 'app3', 'cert.pem'))


ACCOUNT = os.path.join(REPO, 'playbooks', 'account.yml')
ORDER = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: issue
      autotls.acme.certificate:
        acme_directory: "{{ autotls_acme_directory }}"
        acme_ca_bundle: "{{ autotls_acme_ca_bundle }}"
        account_key_src: "{{ autotls_store.path }}/{{ key_file | default('account.pem') }}"
        account_email: ops@example.test
        terms_agreed: true
        aws_endpoint_url: "{{ aws_endpoint }}"
        dns_servers: ["{{ dns_server }}"]
        dest: "{{ autotls_store.path }}/certs"
        force: true
        certificates: [{name: acct, domains: [acct.example.test]}]
"""


# The issuers as the playbooks read them (issuer_settings), the account key from a vault: the model
# gives the issuer its account_key_pending (<store>/account.pem.pending), which the module checks.
ORDER_VAULT = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: "{{ item.name }}"
      autotls.acme.certificate:
        issuers: "{{ (none | autotls.acme.issuers({'autotls_acme_directory': autotls_acme_directory,
          'autotls_acme_ca_bundle': autotls_acme_ca_bundle, 'autotls_account_key_content': item.key},
          {'autotls_terms_agreed': true}, autotls_store.path)).issuers }}"
        aws_endpoint_url: "{{ aws_endpoint }}"
        dns_servers: ["{{ dns_server }}"]
        dest: "{{ autotls_store.path }}/certs"
        force: true
        certificates: [{name: acct, domains: [acct.example.test]}]
      loop: "{{ keys }}"
      loop_control: {label: "{{ item.name }}"}
      register: issued
      ignore_errors: true
    - name: results
      ansible.builtin.debug:
        msg: "{{ issued.results | map('dict2items') | map('rejectattr', 'key', 'in', ['item', 'invocation'])
          | map('items2dict') | list }}"
"""


def _account_of(pebble, key_pem, only_existing=True):
    """What Pebble answers a newAccount for this key (with onlyReturnExisting unless told): (what, Location or problem)."""
    import josepy as jose
    from acme import client as acme_client, errors as acme_errors, messages
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem, None)
    net = acme_client.ClientNetwork(jose.JWKEC(key=key), alg=jose.ES256, verify_ssl=pebble.ca_bundle)
    client = acme_client.ClientV2(acme_client.ClientV2.get_directory(pebble.directory_url, net), net)
    try:
        if only_existing:
            client.new_account(messages.NewRegistration.from_data(only_return_existing=True))
        else:
            return 'created', client.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True)).uri
    except acme_errors.ConflictError as found:
        return 'found', found.location
    except messages.Error as problem:
        return 'refused', problem.typ
    return 'created', None


def test_account_key_rollover_contact_and_deactivation_against_pebble(route53, run_playbook, tmp_path):
    pebble = route53.pebble
    route53.create_zone('acct.example.test')
    store = str(tmp_path / 'store')
    settings = {'autotls_acme_directory': pebble.directory_url, 'autotls_acme_ca_bundle': pebble.ca_bundle,
                'autotls_terms_agreed': True, 'autotls_store': {'type': 'local', 'path': store},
                'aws_endpoint': route53.moto.endpoint_url, 'dns_server': route53.dns.address}
    # Two issuers; account.yml acts on the one named (the first is never contacted: nothing listens there).
    issuers = {'autotls_issuers': [{'name': 'offline', 'directory': 'https://127.0.0.1:9/dir'},
                                   {'name': 'pebble', 'directory': pebble.directory_url, 'ca_bundle': pebble.ca_bundle}],
               'autotls_terms_agreed': True, 'autotls_store': {'type': 'local', 'path': store}}
    key_file = os.path.join(store, 'account-pebble.pem')        # the second issuer's key, in the store

    first = run_playbook(ORDER, extra_vars=dict(settings, key_file='account-pebble.pem')).task('issue')['result']
    account = first['account_uri']
    old_key = open(key_file, 'rb').read()

    # A name that is not one of the issuers' is refused before the store or a CA is touched.
    refused = run_playbook(ACCOUNT, expect_rc=2, extra_vars=dict(issuers, autotls_account_issuer='pebbel',
                                                                 autotls_account_rollover=True))
    assert "autotls_account_issuer 'pebbel' is not one of the issuers: offline, pebble" in refused.stdout
    assert open(key_file, 'rb').read() == old_key and not os.path.exists(os.path.join(store, '.autotls-lease.json'))

    # Roll the named issuer's key over (in the store) and change the contact, in one run.
    rolled = run_playbook(ACCOUNT, extra_vars=dict(issuers, autotls_account_issuer='pebble', autotls_account_rollover=True,
                                                   autotls_account_email='pki@example.test'))
    result = rolled.task('Bring the account to what is asked')['result']
    assert (result['issuer'], result['account_uri'], result['rolled_over'], result['contact_changed'],
            result['new_key_path']) == ('pebble', account, True, True, key_file)
    assert result['contact'] == ['mailto:pki@example.test'] and result['status'] == 'valid'
    new_key = open(key_file, 'rb').read()
    assert new_key != old_key and oct(os.stat(key_file).st_mode & 0o777) == '0o600'
    assert not os.path.exists(key_file + '.new') and not os.path.exists(os.path.join(store, 'account.pem'))
    assert _no_lease(store)
    # At the CA itself: the old key has no account any more, the new one has the same account.
    assert _account_of(pebble, old_key) == ('refused', 'urn:ietf:params:acme:error:accountDoesNotExist')
    assert _account_of(pebble, new_key) == ('found', account)

    # A key kept in a vault: the new key is left in a file, and the output says what to update.
    vaulted = run_playbook(ACCOUNT, extra_vars=dict(settings, autotls_account_rollover=True,
                                                    autotls_account_key_content=new_key.decode()))
    result = vaulted.task('Bring the account to what is asked')['result']
    pending = os.path.join(store, 'account.pem.pending')
    assert result['new_key_path'] == pending and 'AWX credential' in result['next_steps']
    assert open(key_file, 'rb').read() == new_key                  # the store's file is not the vault's
    vault_key = open(pending, 'rb').read()
    assert _account_of(pebble, vault_key) == ('found', account)
    shown = vaulted.task('Report the account')['result']['msg']
    assert any(pending in line and 'Put its content where autotls_account_key_content comes from' in line
               and 'until then runs refuse to order or revoke with it' in line for line in shown)

    # While the vault still holds the old key, an order is refused before the CA is contacted (with the old
    # key Pebble would open a new, separate account); with the new key configured it is ordered from the
    # same account, and the waiting file, now the vault's key, is deleted from the store.
    keys = [{'name': 'old key', 'key': new_key.decode()}, {'name': 'new key', 'key': vault_key.decode()}]
    ordered = run_playbook(ORDER_VAULT, extra_vars=dict(settings, keys=keys)).task('results')['result']['msg']
    refusal = ordered[0]['msg']
    assert ordered[0]['failed'] and 'is not finished: a new account key is waiting in %s' % pending in refusal
    assert 'AWX credential of type "ACME account"' in refusal
    assert _account_of(pebble, new_key) == ('refused', 'urn:ietf:params:acme:error:accountDoesNotExist')
    assert not ordered[1].get('failed'), ordered[1]
    assert (ordered[1]['account_uri'], ordered[1]['account_created'], ordered[1]['certificates'][0]['action']) == (
        account, False, 'renew')
    assert not os.path.exists(pending)

    # Close it: the CA refuses the key from then on.
    closed = run_playbook(ACCOUNT, extra_vars=dict(settings, autotls_account_deactivate=True,
                                                   autotls_account_key_content=vault_key.decode()))
    result = closed.task('Bring the account to what is asked')['result']
    assert result['deactivated'] and result['status'] == 'deactivated'
    assert _account_of(pebble, vault_key)[0] == 'refused'
    # What the refusal prevents: a newAccount with a key the account left opens another account.
    forked = _account_of(pebble, new_key, only_existing=False)
    assert forked[0] == 'created' and forked[1] not in (None, account)
