# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ACME account itself: read it, change its contact, roll its key over, deactivate it.

Messages are acme's (``Registration``, ``UpdateRegistration``, ``ClientV2.query_registration``,
``update_registration``, ``deactivate_registration``). acme has no key-change call, so
the RFC 8555 section 7.3.5 request is built here from acme's own JWS class: an inner JWS
signed by the new key (its JWK in the header, no nonce) with ``{account, oldKey}``,
posted as the payload of an outer JWS signed by the current key (the account's kid).

The new key never exists only in memory: it is written to its file (0600, atomically)
before the CA is asked, and only once the CA confirmed (the new key finds the same
account) does it replace the old key file. A run that stops in between leaves both
files, and the next run finds out from the CA which one the account has.
"""

from __future__ import annotations

import json
import os

from ansible_collections.autotls.acme.plugins.module_utils._acme.session import AcmeSession, account_jwk
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AcmeProtocolError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import generate_private_key, private_key_to_pem

try:
    from acme import errors as acme_errors
    from acme import jws as acme_jws
    from acme import messages
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    pass

STATUS_DEACTIVATED = 'deactivated'
ACCOUNT_KEY_TYPES = ('ec256', 'ec384', 'rsa2048', 'rsa3072', 'rsa4096')
NO_ACCOUNT = 'urn:ietf:params:acme:error:accountDoesNotExist'


def contact_of(emails):
    """``mailto:`` URIs of a comma-separated string or a list of addresses, in order."""
    if emails is None:
        return None
    if isinstance(emails, str):
        emails = emails.split(',')
    found = []
    for email in emails:
        email = str(email).strip()
        if not email:
            continue
        if '@' not in email or any(c in email for c in ' \t\r\n<>,;:') or email.startswith('mailto'):
            raise ConfigurationError('account_email %r is not an e-mail address (write ops@example.com, without '
                                     'mailto:)' % email)
        found.append('mailto:' + email)
    return found


def find_account(session):
    """The account URL of the session's key at the CA (nothing created), or None when it has none."""
    cli = session.client()
    try:
        cli.new_account(messages.NewRegistration.from_data(only_return_existing=True))
    except acme_errors.ConflictError as found:
        return found.location
    except AcmeProtocolError as exc:
        if exc.problem.get('type') == NO_ACCOUNT:
            return None
        raise
    # A CA that created an account despite onlyReturnExisting: acme took its URL.
    return cli.net.account.uri if cli.net.account is not None else None


def status_of(regr):
    """The account's status as a word (``valid``, ``deactivated``, ``revoked``); ``valid`` when the CA sent none."""
    status = regr.body.status
    return getattr(status, 'name', status) if status is not None else 'valid'


def read_account(session, uri):
    """The account's current body (status, contact) as the CA holds it."""
    cli = session.client()
    regr = messages.RegistrationResource(body=messages.Registration(), uri=uri)
    regr = cli.query_registration(regr)
    session.account = regr
    return regr


def update_contact(session, regr, contact):
    cli = session.client()
    update = messages.Registration.from_data(contact=tuple(contact))
    regr = cli.update_registration(regr, update)
    session.account = regr
    return regr


def deactivate(session, regr):
    cli = session.client()
    return cli.deactivate_registration(regr)


def key_change(session, new_key_pem):
    """Ask the CA to bind the session's account to ``new_key_pem`` (RFC 8555 section 7.3.5)."""
    try:
        url = session.directory['keyChange']
    except KeyError:
        url = None
    if not url:
        raise AcmeProtocolError('The CA at %s offers no key change (its directory has no keyChange URL)'
                                % session.directory_url)
    new_jwk, new_alg = account_jwk(new_key_pem)
    payload = json.dumps({'account': session.account.uri,
                          'oldKey': session.jwk.public_key().to_partial_json()}).encode('utf-8')
    inner = acme_jws.JWS.sign(payload, key=new_jwk, alg=new_alg, nonce=None, url=url)
    cli = session.client()
    try:
        cli._post(url, inner)  # pylint: disable=protected-access
    except AcmeProtocolError as exc:
        raise AcmeProtocolError('The CA at %s refused to roll the account key over: %s' % (session.directory_url, exc),
                                problem=exc.problem, url=exc.url, status=exc.status)


def new_account_key(key_type):
    if key_type not in ACCOUNT_KEY_TYPES:
        raise ConfigurationError('new_key_type %r is not one of %s' % (key_type, ', '.join(ACCOUNT_KEY_TYPES)))
    return private_key_to_pem(generate_private_key(key_type))


def session_like(session, key_pem):
    """A session to the same CA with another account key."""
    return AcmeSession(session.directory_url, key_pem, ca_bundle=session.verify if isinstance(session.verify, str)
                       else None, validate_certs=bool(session.verify), request_timeout=session.request_timeout,
                       retry_policy=session.retry_policy)


class Rollover:
    """Roll the account key over, the new key on disk before the CA hears of it.

    ``pending_path``: where the new key is written first (``<key file>.new``, or the file
    the operator names for a key kept in a vault). ``key_path``: the key file it replaces
    once the CA confirmed; None for a vault key (then the operator moves it).
    """

    def __init__(self, session, pending_path, key_path=None, key_type='ec256'):
        self.session = session
        self.pending_path = pending_path
        self.key_path = key_path
        self.key_type = key_type

    def run(self):
        """Write the new key, ask the CA, check that the new key finds the account, put it in place."""
        account_uri = self.session.account.uri
        new_pem = new_account_key(self.key_type)
        directory = os.path.dirname(os.path.abspath(self.pending_path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        atomic_write(self.pending_path, new_pem, 0o600)
        key_change(self.session, new_pem)
        other = session_like(self.session, new_pem)
        try:
            found = find_account(other)
        finally:
            other.close()
        if found != account_uri:
            raise AcmeProtocolError(
                'The CA at %s accepted the key change, but the new key finds %s instead of the account %s; the old key '
                'file was kept, the new key is in %s'
                % (self.session.directory_url, found or 'no account', account_uri, self.pending_path))
        if self.key_path:
            os.replace(self.pending_path, self.key_path)
            return self.key_path
        return self.pending_path
