# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One ACME account at one CA: directory, account key, registration, per-thread clients."""

from __future__ import annotations

import os
import threading

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.autotls.acme.plugins.module_utils._acme.network import (
    HAS_ACME,
    Reachability,
    RetryingClientNetwork,
    RetryPolicy,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeProtocolError,
    ConfigurationError,
    KeyMaterialError,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.autotls.acme.plugins.module_utils._model import issuers as _issuer_model
from ansible_collections.autotls.acme.plugins.module_utils._model.issuers import resolve_directory
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import (
    HAS_CRYPTOGRAPHY,
    generate_private_key,
    load_private_key,
    private_key_to_pem,
)

try:
    import josepy as jose
    from acme import client as acme_client
    from acme import errors as acme_errors
    from acme import messages
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    pass


# Short names operators can use for a directory (kept in the issuer model).
DIRECTORY_ALIASES = _issuer_model.DIRECTORY_ALIASES

USER_AGENT = 'autotls.acme (Ansible collection)'


def account_jwk(key_pem, passphrase=None):
    """(JWK, signing algorithm) for an account key in PEM form."""
    key = load_private_key(key_pem, 'ACME account key', passphrase)
    if isinstance(key, rsa.RSAPrivateKey):
        return jose.JWKRSA(key=key), jose.RS256
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {'secp256r1': jose.ES256, 'secp384r1': jose.ES384, 'secp521r1': jose.ES512}
        alg = algs.get(key.curve.name)
        if alg is None:
            raise KeyMaterialError('The ACME account key uses curve %s; use P-256, P-384 or P-521' % key.curve.name)
        return jose.JWKEC(key=key), alg
    raise KeyMaterialError('The ACME account key must be an RSA or EC key')


class AcmeSession:
    """A CA directory and an account, shared by worker threads.

    Each thread gets its own ClientV2/ClientNetwork (nonce pool and HTTP session are
    per thread); the directory document and the account URL are fetched once.
    """

    def __init__(self, directory_url, account_key_pem, account_key_passphrase=None,
                 ca_bundle=None, validate_certs=True, request_timeout=30, retry_policy=None):
        self.directory_url = resolve_directory(directory_url)
        self.jwk, self.alg = account_jwk(account_key_pem, account_key_passphrase)
        # requests takes a CA bundle path wherever it takes True/False.
        self.verify = ca_bundle if ca_bundle else bool(validate_certs)
        self.request_timeout = request_timeout
        self.retry_policy = retry_policy or RetryPolicy()
        self.account = None
        self.account_created = False
        self._directory = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._networks = []
        # Once one request finds the CA down, the session's other requests fail at once.
        self.reachability = Reachability()

    def network(self, retry_policy=None):
        """A new transport to this CA (one per thread); closed with the session."""
        net = RetryingClientNetwork(
            key=self.jwk, account=self.account, alg=self.alg, verify_ssl=self.verify,
            user_agent=USER_AGENT, timeout=self.request_timeout,
            retry_policy=retry_policy or self.retry_policy, reachability=self.reachability)
        with self._lock:
            self._networks.append(net)
        return net

    @property
    def directory(self):
        if self._directory is None:
            net = self.network()
            try:
                self._directory = acme_client.ClientV2.get_directory(self.directory_url, net)
            except Exception as exc:  # the message must name the URL whatever failed
                raise AcmeProtocolError(
                    'Could not read the ACME directory at %s: %s' % (self.directory_url, exc),
                    url=self.directory_url)
        return self._directory

    def client(self):
        """This thread's client, bound to the account once it is known."""
        cli = getattr(self._local, 'client', None)
        if cli is None:
            cli = acme_client.ClientV2(self.directory, self.network())
            self._local.client = cli
        if cli.net.account is None and self.account is not None:
            cli.net.account = self.account
        return cli

    def meta(self, field):
        meta = getattr(self.directory, 'meta', None)
        return getattr(meta, field, None) if meta is not None else None

    def use_account(self, uri):
        """Use the account at ``uri`` (found by an earlier step of the same run) without asking the CA."""
        self.account = messages.RegistrationResource(body=messages.Registration(), uri=uri)

    def ensure_account(self, email=None, terms_agreed=False, eab_kid=None, eab_hmac_key=None,
                       eab_alg='HS256'):
        """Find the account of this key, or create it; returns the account URL."""
        if self.account is not None:
            return self.account.uri
        cli = self.client()
        tos = self.meta('terms_of_service')
        if tos and not terms_agreed:
            raise ConfigurationError(
                'The CA at %s requires agreeing to its terms of service (%s): read them and set '
                'terms_agreed: true' % (self.directory_url, tos))
        eab = None
        if eab_kid or eab_hmac_key:
            if not (eab_kid and eab_hmac_key):
                raise ConfigurationError('External Account Binding needs both eab_kid and eab_hmac_key')
            try:
                eab = messages.ExternalAccountBinding.from_data(
                    account_public_key=self.jwk.public_key(), kid=eab_kid, hmac_key=eab_hmac_key,
                    directory=self.directory, hmac_alg=eab_alg)
            except (ValueError, TypeError) as exc:
                raise ConfigurationError('eab_hmac_key must be the base64url HMAC key the CA gave you: %s' % exc)
        elif self.meta('external_account_required'):
            raise ConfigurationError(
                'The CA at %s requires External Account Binding: set eab_kid and eab_hmac_key '
                'to the values from your CA account' % self.directory_url)
        extra = {'terms_of_service_agreed': True} if terms_agreed else {}
        registration = messages.NewRegistration.from_data(
            email=email, external_account_binding=eab, **extra)
        try:
            regr = cli.new_account(registration)
            self.account_created = True
        except acme_errors.ConflictError as conflict:
            # The key already has an account: the CA answered with its URL.
            regr = messages.RegistrationResource(body=messages.Registration(), uri=conflict.location)
        except AcmeProtocolError as exc:
            raise AcmeProtocolError(
                'Could not register or find the ACME account at %s: %s' % (self.directory_url, exc),
                problem=exc.problem, url=exc.url, status=exc.status)
        self.account = regr
        cli.net.account = regr
        return regr.uri

    def close(self):
        for net in self._networks:
            try:
                net.session.close()
            except Exception:  # pylint: disable=broad-except
                pass


def acme_argument_spec(issuers=False):
    """Options every ACME-speaking module shares (documented by the ``autotls.acme.acme`` fragment).

    With ``issuers``, also O(issuers) (the ``autotls.acme.issuers`` fragment): the CAs in
    order, instead of O(acme_directory) and its options, which are then not required.
    """
    spec = dict(
        acme_directory=dict(type='str', required=not issuers),
        acme_ca_bundle=dict(type='path'),
        validate_certs=dict(type='bool', default=True),
        account_key_src=dict(type='path'),
        account_key_content=dict(type='str', no_log=True),
        account_key_passphrase=dict(type='str', no_log=True),
        account_email=dict(type='str'),
        terms_agreed=dict(type='bool', default=False),
        eab_kid=dict(type='str'),
        eab_hmac_key=dict(type='str', no_log=True),
        eab_alg=dict(type='str', default='HS256', choices=['HS256', 'HS384', 'HS512']),
        request_timeout=dict(type='int', default=30),
    )
    if issuers:
        spec['issuers'] = dict(type='list', elements='dict', options=issuer_options())
    return spec


def issuer_options():
    """The suboptions of O(issuers): the keys of the issuer model, secrets no_log."""
    options = {}
    for key in _issuer_model.ISSUER_KEYS:
        if key == 'terms_agreed':
            options[key] = dict(type='bool')
        elif key == 'eab_alg':
            options[key] = dict(type='str', choices=list(_issuer_model.EAB_ALGS))
        elif key in ('account_key_src', 'account_key_pending', 'ca_bundle'):
            options[key] = dict(type='path', no_log=False)
        elif key == 'directory':
            options[key] = dict(type='str', required=True)
        else:
            options[key] = dict(type='str', no_log=key in _issuer_model.SECRET_KEYS)
    return options


def acme_mutually_exclusive():
    return [('account_key_src', 'account_key_content')]


def acme_module(argument_spec):
    """The AnsibleModule of an ACME-speaking module (check mode supported), its libraries checked."""
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=acme_mutually_exclusive(),
                           supports_check_mode=True)
    for has, lib in ((HAS_ACME, 'acme'), (HAS_CRYPTOGRAPHY, 'cryptography')):
        if not has:
            module.fail_json(msg=missing_required_lib(lib))
    return module


def issuers_from_params(params, need_key=True):
    """The issuers a module acts with, in order: O(issuers), or the one O(acme_directory) and its options describe.

    Checked against the issuer model; O(account_email) and O(terms_agreed) apply to each
    issuer that does not set its own. With ``need_key``, the one-issuer form needs an
    account key option.
    """
    if params.get('issuers'):
        single = [k for k in ('acme_directory', 'acme_ca_bundle', 'account_key_src', 'account_key_content',
                              'account_key_passphrase', 'eab_kid', 'eab_hmac_key') if params.get(k)]
        if single:
            raise ConfigurationError('issuers and %s are both set: give the CAs in issuers only' % ', '.join(single))
        entries = [dict((k, v) for k, v in entry.items() if v is not None) for entry in params['issuers']]
        for entry in entries:
            for key in ('account_email', 'terms_agreed'):
                if entry.get(key) is None and params.get(key) is not None:
                    entry[key] = params[key]
        return _issuer_model.validate_issuers(entries, 'issuers')
    if not params.get('acme_directory'):
        raise ConfigurationError('one of acme_directory or issuers is required')
    issuers = _issuer_model.validate_issuers([issuer_from_params(params)], 'acme_directory and its options')
    if need_key and not issuers[0].get('account_key_src') and not issuers[0].get('account_key_content'):
        raise ConfigurationError('one of account_key_src or account_key_content is required')
    return issuers


def issuer_named(issuers, name):
    """The issuer called ``name`` (the first when None); an unknown name is refused, naming the known ones."""
    setup = {'issuers': issuers, 'names': [i['name'] for i in issuers]}
    return issuers[_issuer_model.choose_issuer(setup, name, 'issuer')['index']]


def read_account_key(issuer, make=True, check_mode=False):
    """The account key PEM of ``issuer``: its content, or its file.

    With ``make``, a missing file gets a new P-256 key (0600; not in check mode), as the
    certificate module does on first use; without, a missing file is refused: the key of
    an existing account is needed (to change the account, or to revoke what it ordered).
    """
    if issuer.get('account_key_content'):
        content = issuer['account_key_content']
        return content.encode('utf-8') if isinstance(content, str) else content
    path = issuer.get('account_key_src')
    if not path:
        raise ConfigurationError('The issuer %s has no account key: give account_key_src (a file, made on first use) '
                                 'or account_key_content (PEM text, from a vault)' % issuer.get('name', issuer['directory']))
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except FileNotFoundError as exc:
        if not make:
            raise ConfigurationError(
                'Could not read the account key account_key_src %s of the issuer %s: %s (this needs the key of the '
                'existing account; the certificate module makes the key on first use)'
                % (path, issuer.get('name', issuer['directory']), exc.strerror or exc))
    except OSError as exc:
        raise KeyMaterialError('Could not read account_key_src %s: %s' % (path, exc.strerror or exc))
    pem = private_key_to_pem(generate_private_key('ec256'))
    if not check_mode:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        atomic_write(path, pem, 0o600)
    return pem


def issuer_from_params(params):
    """The one issuer the shared ACME options describe, as ``_model.issuers`` has it (unchecked)."""
    issuer = {'directory': params.get('acme_directory'), 'ca_bundle': params.get('acme_ca_bundle'),
              'account_key_src': params.get('account_key_src'), 'account_key_content': params.get('account_key_content'),
              'account_key_passphrase': params.get('account_key_passphrase'),
              'account_email': params.get('account_email'), 'terms_agreed': params.get('terms_agreed'),
              'eab_kid': params.get('eab_kid'), 'eab_hmac_key': params.get('eab_hmac_key'),
              'eab_alg': params.get('eab_alg')}
    return {k: v for k, v in issuer.items() if v is not None}


def session_from_issuer(issuer, params, check_mode=False, make_key=True, key_pem=None):
    """The session of one issuer; ``params`` give what all issuers share (certificate checks, timeouts).

    The account key is ``key_pem`` when given, else :func:`read_account_key` (``make_key``).
    """
    if key_pem is None:
        key_pem = read_account_key(issuer, make_key, check_mode)
    return AcmeSession(
        issuer['directory'], key_pem,
        account_key_passphrase=issuer.get('account_key_passphrase'),
        ca_bundle=issuer.get('ca_bundle'), validate_certs=params.get('validate_certs', True),
        request_timeout=params.get('request_timeout', 30))


def account_options_from_issuer(issuer):
    return dict(email=issuer.get('account_email'), terms_agreed=bool(issuer.get('terms_agreed')),
                eab_kid=issuer.get('eab_kid'), eab_hmac_key=issuer.get('eab_hmac_key'),
                eab_alg=issuer.get('eab_alg') or 'HS256')
