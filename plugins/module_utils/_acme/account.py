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

While that new key (the issuer's ``account_key_pending``) is there and is not the key
the issuer is configured with, nothing may order or revoke with the old key: the CA no
longer knows the old key once it took the new one, and its newAccount would open a new,
separate account for it. :func:`refuse_unfinished_rollover` says so, before anything is
contacted.
"""

from __future__ import annotations

import copy
import json
import os

from ansible_collections.autotls.acme.plugins.module_utils._acme.session import AcmeSession, account_jwk, read_account_key
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeProtocolError,
    AutoTLSError,
    ConfigurationError,
    KeyMaterialError,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.autotls.acme.plugins.module_utils._model.issuers import legacy_pending_key_path
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import (
    generate_private_key,
    load_private_key,
    private_key_to_pem,
)

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


def key_change_url(session):
    """The CA's keyChange URL; refused, naming the CA, when its directory has none (nothing is written then)."""
    try:
        url = session.directory['keyChange']
    except KeyError:
        url = None
    if not url:
        raise AcmeProtocolError('The CA at %s offers no key change (its directory has no keyChange URL): the account '
                                'key cannot be rolled over there. Nothing was written; the account keeps its key. To '
                                'use another key at that CA, make a new account with it (its certificates stay valid).'
                                % session.directory_url)
    return url


def key_change(session, new_key_pem):
    """Ask the CA to bind the session's account to ``new_key_pem`` (RFC 8555 section 7.3.5)."""
    url = key_change_url(session)
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


def read_pending(path):
    """The PEM of the new key a rollover left at ``path``, or None when there is none."""
    if not path:
        return None
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError('Could not read the new account key %s: %s' % (path, exc.strerror or exc))


def same_key(pem, other_pem, passphrase=None):
    """Whether two private key PEMs are the same key (``passphrase`` for ``pem``); False when one does not load."""
    try:
        public = load_private_key(pem, passphrase=passphrase).public_key()
        other = load_private_key(other_pem).public_key()
    except KeyMaterialError:
        return False
    return public == other


def pending_path_of(issuer, key_files=()):
    """The file where ``issuer``'s waiting new key is: ``account_key_pending``, or the name a rollover begun
    before the ``.pem.pending`` names used (``account-new.pem``, ``account-<name>-new.pem``) when only that
    one exists and it is no issuer's key file (``key_files``)."""
    pending = issuer.get('account_key_pending')
    if not pending or os.path.exists(pending):
        return pending
    legacy = legacy_pending_key_path(pending)
    if legacy and os.path.exists(legacy) and legacy not in key_files:
        return legacy
    return pending


def unfinished_rollover(issuer, tidy=False, key_files=()):
    """The path of a new account key a rollover left for ``issuer`` that is not its configured key yet, else None.

    With ``tidy``, a pending file that holds the configured key itself (the operator moved
    it into the vault or the AWX credential and left the file) is deleted: it is no longer
    pending.
    """
    pending = pending_path_of(issuer, key_files)
    pending_pem = read_pending(pending)
    if pending_pem is None:
        return None
    try:
        configured = read_account_key(issuer, make=False)
    except ConfigurationError:
        return pending      # no key of its own yet, but a new one waiting: that one is the account's
    if not same_key(configured, pending_pem, issuer.get('account_key_passphrase')):
        return pending
    if tidy and issuer.get('account_key_content'):
        try:
            os.remove(pending)
        except OSError:
            pass            # left for a later run: the key is the configured one anyway
    return None


def unfinished_rollover_message(issuer, pending):
    """What to do about the new key at ``pending``: finish the rollover, or move the key into its place."""
    name = issuer.get('name') or issuer['directory']
    finish = ('ansible-playbook -i inventory autotls.acme.account -e autotls_account_rollover=true '
              '-e autotls_account_issuer=%s' % name)
    if issuer.get('account_key_content'):
        return ('The account key rollover at issuer %s is not finished: a new account key is waiting in %s, and the '
                'key configured for the issuer (its account_key_content: autotls_account_key_content, or '
                'autotls_issuers[].account_key_content) is still the old one. Nothing was ordered or revoked with it: '
                'the CA no longer knows the old key once it took the new one, and would open a new, separate account '
                'for it. If account.yml reported the rollover done, put the content of %s into that vault variable '
                'or the AWX credential of type "ACME account" that sets it; otherwise finish the rollover first (%s), '
                'then move the key.' % (name, pending, pending, finish))
    return ('The account key rollover at issuer %s is not finished: a new account key is waiting in %s, and the '
            'account key %s is still the old one. Nothing was ordered or revoked with it: the CA no longer knows the '
            'old key once it took the new one, and would open a new, separate account for it. Finish the rollover '
            '(%s): it asks the CA which key the account has and puts the new key in place.'
            % (name, pending, issuer.get('account_key_src'), finish))


def key_files_of(issuers):
    """The account key files of ``issuers`` (a waiting key never has one of their names)."""
    return [i.get('account_key_src') for i in issuers if i.get('account_key_src')]


def unfinished_rollovers(issuers, tidy=False):
    """``{name: message}`` of the issuers with an unfinished rollover: they order nothing this run.

    The others order as ever: a rollover at one issuer says nothing about the accounts at the
    others. Their certificates go to the next issuer, as from a rate-limited one.
    """
    key_files = key_files_of(issuers)
    found = {}
    for issuer in issuers:
        pending = unfinished_rollover(issuer, tidy, key_files)
        if pending is not None:
            found[issuer['name']] = unfinished_rollover_message(issuer, pending)
    return found


def refuse_unfinished_rollover(issuers, tidy=False, key_files=None):
    """Raise ConfigurationError, naming the file and what to do, when an issuer has an unfinished rollover."""
    key_files = key_files_of(issuers) if key_files is None else key_files
    for issuer in issuers:
        pending = unfinished_rollover(issuer, tidy, key_files)
        if pending is not None:
            raise ConfigurationError(unfinished_rollover_message(issuer, pending))


def _retold(exc, msg):
    """``exc`` (its class and details kept) with the message ``msg``."""
    told = copy.copy(exc)
    told.msg = msg
    told.args = (msg,)
    return told


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

    def prepare(self):
        """The new key, written to the pending file first (0600, atomically); a key already waiting there is kept.

        A waiting key is the one an earlier step wrote (and pushed to the store) for this
        rollover, or one the CA may already know: it is never replaced, except when it is
        the account's current key itself (a vault key moved in place, its file left).
        """
        pending = read_pending(self.pending_path)
        if pending is not None:
            try:
                waiting = account_jwk(pending)[0].public_key().thumbprint()
            except KeyMaterialError as exc:
                raise KeyMaterialError('The new account key waiting in %s does not load (%s): move it away if no '
                                       'rollover is under way, then run again' % (self.pending_path, exc))
            if waiting != self.session.jwk.public_key().thumbprint():
                return pending
        new_pem = new_account_key(self.key_type)
        directory = os.path.dirname(os.path.abspath(self.pending_path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        atomic_write(self.pending_path, new_pem, 0o600)
        return new_pem

    def refused(self, exc, account_uri, new_pem):
        """The error to raise when the key change failed; the waiting key removed when the CA surely did not take it.

        The old key must still find the account and the new key none: then the new key is
        nobody's, and a waiting file would only block every later run (the store drops it
        with the next push). Anything else (the new key finds an account, or the CA cannot
        be asked) keeps the key: the CA may know the account by it.
        """
        try:
            old_found = find_account(self.session)
            other = session_like(self.session, new_pem)
            try:
                new_found = find_account(other)
            finally:
                other.close()
        except AutoTLSError as check:
            old_found, new_found = None, check
        if old_found == account_uri and new_found is None:
            try:
                os.remove(self.pending_path)
                removed = 'the new key was removed from %s' % self.pending_path
            except FileNotFoundError:
                removed = 'no new key is left in %s' % self.pending_path
            except OSError as gone:
                removed = 'the new key in %s could not be removed (%s): delete it' % (self.pending_path, gone.strerror or gone)
            return _retold(exc, '%s. The account %s keeps its key (the CA still knows it by the old key, and not by '
                                'the new one); %s, so nothing waits for a rollover and ordering goes on with the old '
                                'key.' % (exc, account_uri, removed))
        if isinstance(new_found, AutoTLSError):
            state = 'the CA could not be asked which key the account has (%s)' % new_found
        else:
            state = 'the new key finds %s' % (new_found or 'no account')
        return _retold(exc, '%s. It is not clear whether the CA took the new key (%s): the new key was kept in %s. '
                            'Run the rollover again (account.yml -e autotls_account_rollover=true): it asks the CA '
                            'which key the account has and puts the new key in place.' % (exc, state, self.pending_path))

    def run(self):
        """Write (or take) the new key, ask the CA, check that the new key finds the account, put it in place."""
        account_uri = self.session.account.uri
        key_change_url(self.session)        # refused before anything is written
        new_pem = self.prepare()
        try:
            key_change(self.session, new_pem)
        except AutoTLSError as exc:
            raise self.refused(exc, account_uri, new_pem)
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
