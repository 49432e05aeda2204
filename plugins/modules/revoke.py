#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: revoke
short_description: Revoke a stored certificate at its ACME CA, check that the CA holds it as revoked, set it aside
version_added: 0.1.0
description:
  - Revokes the certificate the store holds as C(<dest>/<name>/cert.pem) with an RFC 8555 revocation request,
    signed by the ACME account (O(revoke_with=account)) or by the certificate's own key
    (O(revoke_with=certificate_key), for when the account key is lost).
  - Then asks the CA whether it holds the certificate as revoked, the first way the CA offers that answers -
    its OCSP responder (named in the certificate), its CRL (named in the certificate, signature checked with
    the issuer's key), else the ACME endpoint itself, which answers a second request with C(alreadyRevoked).
    RV(check) says which way answered. A check that cannot be made (the CA no longer answers) is reported in
    RV(check) and as a warning; the revocation stands.
  - The request goes to the issuer (of O(issuers)) that issued the certificate, with that issuer's account key,
    External Account Binding and trust - the issuer the store recorded with the certificate (C(issuer.json) beside
    its files, written by M(autotls.acme.certificate)), else the issuer whose CA bundle holds the CA certificate that
    signed it (its name and signature), else the first. RV(acme_issuer) and RV(issuer_found_by) say which and how.
  - When the store does not record the issuer and the CA bundles of several issuers hold the CA that signed it (two
    directories or provisioners of one CA, under one root), the module refuses before contacting any CA and names
    them; give the one that issued it as O(issuer).
  - When the CA refuses the revocation, nothing is set aside and the module fails (the certificate is still valid).
    Once the CA revoked it, its files are set aside even when the check afterwards fails.
  - With O(set_aside=true) (the default), the certificate's files then move from C(<dest>/<name>/) to
    C(<store>/revoked/<name>/<serial>/) (the store being the parent of O(dest)), so that the next issuance makes
    a new key and nothing deploys or renews the revoked certificate again.
  - Used by C(playbooks/revoke.yml), which then issues a replacement, deploys it and reloads.
  - 'Runs on the controller (or the AWX execution environment): use C(delegate_to: localhost) or a localhost play.'
author:
  - autotls.acme maintainers (@autotls)
requirements:
  - acme >= 2.0 (certbot's ACME library)
  - cryptography
extends_documentation_fragment:
  - autotls.acme.acme
  - autotls.acme.issuers
attributes:
  check_mode:
    support: full
    description: Reports the certificate that would be revoked; contacts nothing and moves nothing.
  diff_mode:
    support: none
    description: Nothing to show as a diff.
  idempotent:
    support: none
    description: A revoked certificate is set aside; running again finds no certificate to revoke and fails, naming where it went.
options:
  acme_directory:
    description:
      - URL of the CA's ACME directory, or an alias (C(letsencrypt), C(letsencrypt_staging), C(zerossl)), in the
        one-issuer form, with the other ACME options. O(issuers) gives the CAs of C(autotls_issuers) instead; one of
        the two is required (unless O(revoke=false)).
    type: str
    required: false
  issuers:
    description:
      - The CAs of C(autotls_issuers), in order. The certificate is revoked at the one that issued it.
      - With O(revoke_with=account), that issuer needs its account key (a file that does not exist is refused, not
        made, since a new account could not revoke the certificate).
  issuer:
    description:
      - Name of the issuer (of O(issuers)) that issued the certificate, for a certificate the store holds no record of
        (one issued before the store recorded issuers) whose CA several issuers trust. RV(issuer_found_by) is then
        C(given).
      - A name that is not one of the issuers' names is refused, listing them; so is a name other than the one the
        store recorded with the certificate.
    type: str
  name:
    description:
      - Name of the certificate in the store.
    type: str
    required: true
  dest:
    description:
      - The store's certificate directory, holding C(<name>/cert.pem), C(<name>/chain.pem) and C(<name>/privkey.pem).
    type: path
    required: true
  reason:
    description:
      - Why, as RFC 5280 names it. C(keyCompromise) when the key leaked, C(cessationOfOperation) when the names
        are no longer served, C(superseded) when it was replaced, C(affiliationChanged) when the names changed hands.
      - Some CAs take only some reasons (Let's Encrypt refuses C(certificateHold)); the CA's refusal is reported.
    type: str
    choices: [unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation,
              certificateHold, privilegeWithdrawn, aACompromise]
    default: keyCompromise
  revoke_with:
    description:
      - C(account) signs the request with the account key (the account that ordered the certificate, or one that
        holds valid authorizations for all its names). C(certificate_key) signs it with the certificate's own
        private key from the store; no account is needed.
    type: str
    choices: [account, certificate_key]
    default: account
  set_aside:
    description:
      - Move the revoked certificate's files to C(<store>/<aside>/<name>/<serial>/) once the CA revoked it.
    type: bool
    default: true
  aside:
    description:
      - Where O(set_aside) moves the files - C(revoked), or C(retired) for a certificate no host declares any more
        (C(playbooks/retire.yml)).
    type: str
    choices: [revoked, retired]
    default: revoked
  revoke:
    description:
      - V(false) only sets the certificate aside, without contacting the CA (C(playbooks/retire.yml) without
        C(autotls_retire_revoke)).
    type: bool
    default: true
  owner:
    description:
      - With O(aside=retired), the inventory's C(autotls_store_owner) (left out when it sets none). A certificate
        recorded with another owner (C(owner) in its C(issuer.json), written by M(autotls.acme.certificate)'s
        O(autotls.acme.certificate#module:store_owner)) belongs to another inventory that shares the store, so it is
        neither revoked nor set aside, and RV(not_ours) says so. One recorded with no owner is retired as before.
    type: str
notes:
  - The private keys are never returned or logged.
seealso:
  - module: autotls.acme.certificate
'''

EXAMPLES = r'''
- name: Revoke app1's certificate at the issuer of autotls_issuers that issued it
  autotls.acme.revoke:
    issuers: "{{ autotls_issuers }}"
    dest: /srv/autotls/certs
    name: app1
    reason: keyCompromise
  delegate_to: localhost
  run_once: true

- name: Revoke app1's certificate at internal-eab, which shares its root with another issuer
  autotls.acme.revoke:
    issuers: "{{ autotls_issuers }}"
    issuer: internal-eab
    dest: /srv/autotls/certs
    name: app1
  delegate_to: localhost
  run_once: true

- name: Revoke app1's certificate, its key leaked
  autotls.acme.revoke:
    acme_directory: https://ca.internal:9443/acme/acme/directory
    acme_ca_bundle: /srv/autotls/ca-root.pem
    account_key_src: /srv/autotls/account.pem
    dest: /srv/autotls/certs
    name: app1
    reason: keyCompromise
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
name:
  description: The certificate's name.
  returned: always
  type: str
serial:
  description: Serial number (hex) of the revoked certificate.
  returned: always
  type: str
  sample: 3a9f1c0d
domains:
  description: Its names.
  returned: always
  type: list
  elements: str
not_after:
  description: Its expiry (UTC, ISO 8601).
  returned: always
  type: str
reason:
  description: The reason given.
  returned: always
  type: str
  sample: keyCompromise
revoked:
  description: Whether the certificate was (or, in check mode, would be) revoked; false with O(revoke=false).
  returned: always
  type: bool
revoked_with:
  description: C(account) or C(certificate_key).
  returned: always
  type: str
already_revoked:
  description: True when the CA answered that it had been revoked already.
  returned: when revoked, unless in check mode
  type: bool
check:
  description:
    - What the CA said afterwards - C(revoked) (true, false or null when it could not tell), C(method) (C(ocsp),
      C(crl) or C(acme)), C(detail) and C(tried) (the ways asked first that did not decide).
    - C(method) is null when the CA could not be asked afterwards (C(detail) says why).
  returned: when revoked, unless in check mode
  type: dict
  sample: {revoked: true, method: acme, detail: the CA answered a second revocation request with alreadyRevoked, tried: []}
acme_issuer:
  description: Name of the issuer (of O(issuers)) the request went to.
  returned: when revoking (also in check mode)
  type: str
  sample: zerossl
issuer_found_by:
  description:
    - How that issuer was found - C(given) (O(issuer)), C(recorded) (the store recorded it with the certificate),
      C(trust) (its CA bundle, and no other issuer's, holds the CA certificate that signed it) or C(first) (neither
      told; the first issuer).
  returned: when revoking (also in check mode)
  type: str
  sample: recorded
set_aside_to:
  description: Where the certificate's files went (or would go, in check mode).
  returned: with O(set_aside)
  type: str
  sample: /srv/autotls/revoked/app1/3a9f1c0d
owner:
  description: With O(aside=retired), the owner recorded with the certificate, null when none was.
  returned: with O(aside=retired)
  type: str
  sample: qa1
not_ours:
  description: With O(aside=retired), true when the certificate is recorded with another owner than O(owner); then nothing was done.
  returned: with O(aside=retired)
  type: bool
unowned:
  description:
    - With O(aside=retired) and O(owner), true when no owner was recorded with the certificate (written before the
      inventory set C(autotls_store_owner)); it is retired as this inventory's.
  returned: with O(aside=retired)
  type: bool
account_uri:
  description: URL of the account that signed, with O(revoke_with=account).
  returned: when the account signed
  type: str
'''

import os

from ansible_collections.autotls.acme.plugins.module_utils._acme.account import key_files_of, refuse_unfinished_rollover
from ansible_collections.autotls.acme.plugins.module_utils._acme.revocation import (
    REASONS,
    REVOKE_WITH,
    Revoker,
    check_revoked,
    reason_code,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.issued_by import AmbiguousIssuer, IssuedBy
from ansible_collections.autotls.acme.plugins.module_utils._acme.session import (
    account_options_from_issuer,
    acme_argument_spec,
    acme_module,
    issuers_from_params,
    session_from_issuer,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._model.names import validate_name
from ansible_collections.autotls.acme.plugins.module_utils._store.aside import set_aside
from ansible_collections.autotls.acme.plugins.module_utils._store.retirement import store_owner
from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import (
    CertificateFiles,
    describe,
    load_certificate,
    split_pem_chain,
)

try:
    import requests
except ImportError:  # pragma: no cover - acme brings requests
    pass


def argument_spec():
    spec = acme_argument_spec(issuers=True)
    spec.update(
        name=dict(type='str', required=True),
        dest=dict(type='path', required=True),
        reason=dict(type='str', default='keyCompromise', choices=list(REASONS)),
        revoke_with=dict(type='str', default='account', choices=list(REVOKE_WITH)),
        set_aside=dict(type='bool', default=True),
        aside=dict(type='str', default='revoked', choices=['revoked', 'retired']),
        revoke=dict(type='bool', default=True),
        issuer=dict(type='str'),
        owner=dict(type='str'),
    )
    return spec


class _Http:
    """GET and POST for OCSP responders and CRLs, with the module's timeout."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.session = requests.Session()

    def get(self, url):
        return self.session.get(url, timeout=self.timeout)

    def post(self, url, **kwargs):
        return self.session.post(url, timeout=self.timeout, **kwargs)


def _read_stored(files, name):
    cert = files.read_certificate()
    if cert is None:
        aside = os.path.join(os.path.dirname(os.path.abspath(os.path.dirname(files.directory))), 'revoked', name)
        hint = (' A revoked one was set aside in %s: run renew.yml to issue its replacement.' % aside
                if os.path.isdir(aside) else '')
        raise AutoTLSError('There is no certificate %s in the store (%s).%s' % (name, files.path('cert.pem'), hint))
    issuer = None
    try:
        with open(files.path('chain.pem'), 'rb') as handle:
            chain = split_pem_chain(handle.read())
        issuer = load_certificate(chain[0]) if chain else None
    except (OSError, AutoTLSError):
        pass
    return cert, issuer


def _set_aside(params, serial, result):
    try:
        return set_aside(params['dest'], params['name'], params['aside'], serial)
    except (AutoTLSError, OSError) as exc:
        if not result.get('revoked'):
            raise
        raise AutoTLSError('Certificate %s (serial %s) is revoked at the CA, but its files could not be set aside: %s. '
                           'Move %s to %s/%s/%s/%s by hand, then issue its replacement (renew.yml).' % (
                               params['name'], serial, exc, os.path.join(params['dest'], params['name']),
                               os.path.dirname(os.path.abspath(params['dest'])), params['aside'], params['name'],
                               serial))


def main():
    module = acme_module(argument_spec())
    params = module.params
    result = dict(changed=False, name=params['name'], reason=params['reason'], revoked_with=params['revoke_with'],
                  revoked=params['revoke'])
    try:
        validate_name(params['name'])
        reason_code(params['reason'])
        files = CertificateFiles(os.path.join(params['dest'], params['name']))
        cert, chain_issuer = _read_stored(files, params['name'])
        facts = describe(cert)
        result.update(serial=facts['serial'], domains=facts['domains'], not_after=facts['not_after'])
        if params['aside'] == 'retired':
            # A store shared by inventories: only this inventory's certificates (or unowned ones) retire.
            result['owner'] = (files.read_issuer() or {}).get('owner')
            result['not_ours'] = store_owner(result['owner'], params['owner']) == 'theirs'
            # Recorded before this inventory set its owner: retired as before, and said so.
            result['unowned'] = bool(params['owner']) and not result['owner']
            if result['not_ours']:
                result['revoked'] = False
                module.exit_json(**result)
        key_pem = None
        if params['revoke_with'] == 'certificate_key':
            key_pem = files.read_key_pem()
            if not key_pem:
                raise AutoTLSError('Certificate %s: no private key in the store (%s) to sign the revocation with; '
                                   'use revoke_with: account' % (params['name'], files.path('privkey.pem')))
        if params['revoke']:
            # The CA that issued it (given, else recorded in the store, else found by its trust, else the first).
            configs = issuers_from_params(params, need_key=params['revoke_with'] == 'account')
            try:
                issuer, how = IssuedBy(configs).find(files, cert, given=params['issuer'])
            except AmbiguousIssuer as exc:
                raise AmbiguousIssuer(
                    'Certificate %s (serial %s) was not revoked: %s. An issuer that did not issue it refuses to revoke '
                    'it: give the one that did as the issuer option (one of %s; revoke.yml: -e autotls_revoke_issuer=NAME, '
                    'retire.yml: autotls_retire_issuers: {%s: NAME}).'
                    % (params['name'], facts['serial'], exc, ', '.join(exc.candidates), params['name']), exc.candidates)
            result.update(acme_issuer=issuer['name'], issuer_found_by=how)
            if params['revoke_with'] == 'account':
                # Only the issuing CA: another issuer's rollover says nothing about this account.
                refuse_unfinished_rollover([issuer], key_files=key_files_of(configs))
        if module.check_mode:
            result['changed'] = True
            if params['set_aside']:
                result['set_aside_to'] = set_aside(params['dest'], params['name'], params['aside'],
                                                   facts['serial'], check_mode=True)
            module.exit_json(**result)
        if not params['revoke']:
            result['set_aside_to'] = set_aside(params['dest'], params['name'], params['aside'], facts['serial'])
            result['changed'] = True
            module.exit_json(**result)
        # The account key is only read (never made: a new account could not revoke it); the
        # certificate's own key signs without any account.
        session = session_from_issuer(issuer, params, make_key=False, key_pem=key_pem)
        try:
            revoker = Revoker(session, account_options_from_issuer(issuer))
            # A refusal raises here: nothing is set aside, the certificate stays in place (and valid).
            revoked_now = revoker.revoke(cert, params['reason'], key_pem)
            result['already_revoked'] = not revoked_now
            result['changed'] = revoked_now
            if session.account is not None:
                result['account_uri'] = session.account.uri
            result['check'] = check_revoked(revoker, _Http(params['request_timeout']), cert, chain_issuer,
                                            params['reason'], key_pem)
        finally:
            session.close()
        if params['set_aside']:
            result['set_aside_to'] = _set_aside(params, facts['serial'], result)
            result['changed'] = True
    except AutoTLSError as exc:
        result['msg'] = str(exc)
        result.update(exc.details)
        module.fail_json(**result)
    if result['check']['revoked'] is not True:
        module.warn('Certificate %s (serial %s) was revoked, but the CA does not confirm it yet: %s' % (
            params['name'], result['serial'], '; '.join(result['check']['tried'] + [result['check']['detail']])))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
