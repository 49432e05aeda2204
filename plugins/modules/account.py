#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: account
short_description: Keep an ACME account - its contact, its key (RFC 8555 key rollover), or close it
version_added: 0.1.0
description:
  - Finds the ACME account of the account key (creating it with O(state=present), as M(autotls.acme.certificate)
    would), and brings it to what is asked.
  - With O(account_email), the account's contact becomes that address (or those, comma-separated); the CA is only
    asked to change it when it differs.
  - With O(rollover=true), a new account key is made and the account moved to it with the RFC 8555 key-change
    request. The new key is written first (C(0600), atomically) to O(new_account_key_dest), then the CA is asked,
    then the new key must find the same account. Only then, for a key kept in a file (O(account_key_src)), does
    the new key replace that file; the old key stays in place until the CA confirmed. For a key given as
    O(account_key_content) (a vault variable, an AWX credential), the new key stays in O(new_account_key_dest) and
    RV(next_steps) says what to update.
  - A run that stopped after the CA took the new key but before the key file was replaced is finished by the next
    run, which asks the CA which key the account has.
  - While the new key waits and the issuer is still configured with the old one, nothing is ordered or revoked with
    that issuer (the CA would open a new account for the old key) - M(autotls.acme.certificate) orders its
    certificates from the next issuer, M(autotls.acme.revoke) refuses a certificate that issuer issued; the other
    issuers go on as ever.
  - With O(state=deactivated), the account is closed. This cannot be undone; its certificates stay valid, and
    nothing can be ordered or revoked with it any more.
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
    description: Reads the account and reports what would change; changes nothing at the CA and writes no key.
  diff_mode:
    support: none
    description: Keys are never shown as diffs.
  idempotent:
    support: partial
    description: The contact and the state are changed only when they differ; O(rollover=true) rolls the key over on every run.
options:
  acme_directory:
    description:
      - URL of the CA's ACME directory, or an alias (C(letsencrypt), C(letsencrypt_staging), C(zerossl)), in the
        one-issuer form, with the other ACME options. O(issuers) gives the CAs of C(autotls_issuers) instead; one of
        the two is required.
    type: str
    required: false
  issuers:
    description:
      - The CAs of C(autotls_issuers), in order; the module acts on the account at one of them, O(issuer).
      - The account key of that issuer must exist (it is not made here; M(autotls.acme.certificate) makes it on
        first use).
  issuer:
    description:
      - Name of the issuer (of O(issuers)) whose account to act on. Default - the first.
      - A name that is not one of the issuers' names is refused, listing them.
    type: str
  key_setting:
    description:
      - Where the account key given as O(account_key_content) (or O(issuers[].account_key_content)) comes from in the
        inventory, for RV(next_steps) to name, such as C(autotls_issuers[1].account_key_content (issuer zerossl)).
    type: str
    default: account_key_content
  state:
    description:
      - C(present) finds (or creates) the account; C(deactivated) closes it, for good.
    type: str
    choices: [present, deactivated]
    default: present
  rollover:
    description:
      - Move the account to a new key (RFC 8555 key change).
    type: bool
    default: false
  new_key_type:
    description:
      - Type of the new account key.
    type: str
    choices: [ec256, ec384, rsa2048, rsa3072, rsa4096]
    default: ec256
  new_account_key_dest:
    description:
      - Where the new key is written before the CA is asked.
      - Default - the issuer's O(issuers[].account_key_pending) (the playbooks set it in the store), else with
        O(account_key_src) C(<account_key_src>.new), which replaces O(account_key_src) once the CA confirmed.
      - Required with O(account_key_content) and O(rollover=true) when the issuer sets no O(issuers[].account_key_pending) -
        the new key stays there for you to move into the vault or the AWX credential (the next order with the new key
        configured deletes the file).
      - A key already waiting there (written by O(rollover_step=prepare), or left by a run that stopped) is used, never
        replaced, unless it is the account's current key.
    type: path
  rollover_step:
    description:
      - C(prepare) only writes the new key to O(new_account_key_dest) (a key already waiting there is kept) and asks the
        CA nothing, so that a store (S3) can hold it before the key change; C(complete) rolls the key over with it
        (making it first when none is waiting). C(playbooks/account.yml) pushes the store between the two.
    type: str
    choices: [prepare, complete]
    default: complete
notes:
  - No key is ever returned or logged.
seealso:
  - module: autotls.acme.certificate
'''

EXAMPLES = r'''
- name: Roll over the key of the account at the second issuer of autotls_issuers
  autotls.acme.account:
    issuers: "{{ autotls_issuers }}"
    issuer: zerossl
    key_setting: autotls_issuers[1].account_key_content (issuer zerossl)
    new_account_key_dest: /srv/autotls/account-zerossl.pem.pending
    rollover: true
  delegate_to: localhost
  run_once: true

- name: Roll the account key over, the key in the store
  autotls.acme.account:
    acme_directory: letsencrypt
    account_key_src: /srv/autotls/account.pem
    account_email: pki@example.com
    terms_agreed: true
    rollover: true
  delegate_to: localhost
  run_once: true

- name: Close the account
  autotls.acme.account:
    acme_directory: letsencrypt
    account_key_content: "{{ vault_acme_account_key }}"
    state: deactivated
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
issuer:
  description: Name of the issuer whose account this is.
  returned: when the issuers were read
  type: str
  sample: letsencrypt
account_uri:
  description: URL of the account.
  returned: when the account was found or created
  type: str
status:
  description: The account's status at the CA afterwards (C(valid), C(deactivated)).
  returned: when the account was found or created
  type: str
contact:
  description: The account's contact URIs afterwards.
  returned: when the account was found or created
  type: list
  elements: str
created:
  description: Whether the account was created by this run.
  returned: always
  type: bool
contact_changed:
  description: Whether the contact was (or would be) changed.
  returned: always
  type: bool
rolled_over:
  description: Whether the key was (or would be) rolled over; also true when this run finished a rollover an earlier run began.
  returned: always
  type: bool
deactivated:
  description: Whether the account was (or would be) deactivated by this run.
  returned: always
  type: bool
new_key_path:
  description: Where the account's key now is, after a rollover; with O(rollover_step=prepare), where the new key waits.
  returned: after a rollover, and with O(rollover_step=prepare)
  type: str
next_steps:
  description:
    - What the operator must do after a rollover of a key kept outside a file (vault, AWX credential).
    - When the new key is in the working copy of an S3 store, it names the S3 object that holds it
      (C(s3://bucket/prefix/<object>), as the store's manifest names it) and how to fetch it.
  returned: when there is something to do
  type: str
'''

import os

from ansible_collections.autotls.acme.plugins.module_utils._acme import account as acme_account
from ansible_collections.autotls.acme.plugins.module_utils._acme.session import (
    account_options_from_issuer,
    acme_argument_spec,
    acme_module,
    issuer_named,
    issuers_from_params,
    session_from_issuer,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._store.store import stored_object


def argument_spec():
    spec = acme_argument_spec(issuers=True)
    spec.update(
        issuer=dict(type='str'),
        key_setting=dict(type='str', default='account_key_content', no_log=False),
        state=dict(type='str', default='present', choices=['present', 'deactivated']),
        rollover=dict(type='bool', default=False),
        new_key_type=dict(type='str', default='ec256', choices=list(acme_account.ACCOUNT_KEY_TYPES)),
        new_account_key_dest=dict(type='path', no_log=False),
        rollover_step=dict(type='str', default='complete', choices=['prepare', 'complete']),
    )
    return spec


def _pending_path(params, issuer):
    if params.get('new_account_key_dest'):
        return params['new_account_key_dest']
    if issuer.get('account_key_pending'):
        return acme_account.pending_path_of(issuer, [i.get('account_key_src') for i in params.get('issuers') or ()
                                                     if isinstance(i, dict) and i.get('account_key_src')])
    if issuer.get('account_key_src') and not issuer.get('account_key_content'):
        return issuer['account_key_src'] + '.new'
    return None


def next_steps(directory_url, name, path, setting):
    """What to do with a new key kept outside a file: where it is (the S3 object of a store too), what to update."""
    stored = stored_object(path)
    if stored is None:
        where = path
        fetch = ''
    else:
        url, pushed = stored
        where = '%s (on this controller) and in the S3 store as %s%s' % (
            path, url, '' if pushed else ', uploaded by the push at the end of this run (the store\'s manifest '
            '.autotls-manifest.json names its object)')
        fetch = (' In AWX the execution environment and its copy are gone after the job: fetch it from the store '
                 '(aws s3 cp %s -, or pull the store to a working copy) as docs/awx.md says.' % url)
    return ('The account at %s (issuer %s) now has the key in %s. Put its content where %s comes from (the vault '
            'variable it names, or the AWX credential of type "ACME account" that sets it): the old key no longer '
            'works, and until then runs refuse to order or revoke with it.%s The first run that finds the new key '
            'configured deletes the file (from an S3 store too, with its push).'
            % (directory_url, name, where, setting, fetch))


def _finish_earlier_rollover(module, session, pending, key_path, result):
    """A new key left by a run that stopped after the CA took it: the session of that key, else None."""
    pending_pem = acme_account.read_pending(pending)
    if pending_pem is None:
        return None
    other = acme_account.session_like(session, pending_pem)
    if acme_account.find_account(other) is None:
        other.close()
        return None
    if key_path and not module.check_mode:
        os.replace(pending, key_path)
    result.update(rolled_over=True, changed=True, new_key_path=key_path or pending)
    return other


def _run(module, params, result):
    issuer = issuer_named(issuers_from_params(params), params.get('issuer'))
    result['issuer'] = issuer['name']
    options = account_options_from_issuer(issuer)
    contact = acme_account.contact_of(options['email'])
    pending = _pending_path(params, issuer)
    key_path = None if issuer.get('account_key_content') else issuer.get('account_key_src')
    if params['rollover'] and pending is None:
        raise ConfigurationError('rollover with account_key_content needs new_account_key_dest: the file the new key '
                                 'is written to, for you to move into the vault or AWX credential')
    if params['rollover'] and params['state'] == 'deactivated':
        raise ConfigurationError('rollover and state=deactivated exclude each other: a closed account needs no new key')
    if params['rollover_step'] == 'prepare' and not params['rollover']:
        raise ConfigurationError('rollover_step=prepare needs rollover=true: it writes the new key of a rollover')
    session = session_from_issuer(issuer, params, make_key=False)
    try:
        if params['rollover_step'] == 'prepare':
            # Nothing is asked of the CA: the new key is written (or the waiting one kept) for the
            # store to hold it before the key change.
            acme_account.key_change_url(session)     # a CA without key change: refused, nothing written
            result['new_key_path'] = pending
            waiting = acme_account.read_pending(pending)
            if module.check_mode:
                result['changed'] = waiting is None
            else:
                result['changed'] = acme_account.Rollover(session, pending, key_path, params['new_key_type']).prepare() != waiting
            return
        uri = acme_account.find_account(session)
        if uri is None and pending:
            finished = _finish_earlier_rollover(module, session, pending, key_path, result)
            if finished is not None:
                session.close()
                session = finished
                uri = acme_account.find_account(session)
        if uri is None:
            if params['state'] == 'deactivated':
                raise AutoTLSError('The key has no account at %s: nothing to deactivate' % session.directory_url)
            result['created'] = result['changed'] = True
            if module.check_mode:
                result.update(contact_changed=bool(contact), rolled_over=params['rollover'])
                return
            uri = session.ensure_account(**options)
        regr = acme_account.read_account(session, uri)
        result['account_uri'] = uri
        if params['state'] == 'deactivated':
            result['deactivated'] = result['changed'] = acme_account.status_of(regr) != acme_account.STATUS_DEACTIVATED
            if result['deactivated'] and not module.check_mode:
                regr = acme_account.deactivate(session, regr)
        else:
            if contact is not None and sorted(regr.body.contact or ()) != sorted(contact):
                result['contact_changed'] = result['changed'] = True
                if not module.check_mode:
                    regr = acme_account.update_contact(session, regr, contact)
            if params['rollover'] and not result['rolled_over']:
                result['rolled_over'] = result['changed'] = True
                if not module.check_mode:
                    rollover = acme_account.Rollover(session, pending, key_path, params['new_key_type'])
                    result['new_key_path'] = rollover.run()
        result['status'] = acme_account.STATUS_DEACTIVATED if result['deactivated'] else acme_account.status_of(regr)
        result['contact'] = [str(c) for c in (regr.body.contact or ())]
        if result.get('new_key_path') and not key_path:
            result['next_steps'] = next_steps(session.directory_url, issuer['name'], result['new_key_path'],
                                              params.get('key_setting') or 'account_key_content')
    finally:
        session.close()


def main():
    module = acme_module(argument_spec())
    params = module.params
    result = dict(changed=False, created=False, contact_changed=False, rolled_over=False, deactivated=False)
    try:
        _run(module, params, result)
    except AutoTLSError as exc:
        result['msg'] = str(exc)
        result.update(exc.details)
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
