# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RFC 8555 orders, authorizations and challenges for one certificate.

certbot's ClientV2 gives the messages and the signed transport; the polling here is our
own because its loops sleep a fixed second per poll, have no per-challenge view (step-ca
marks a challenge invalid but leaves its authorization pending) and raise bare timeouts.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._acme.network import problem_to_dict
from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import (
    issuer_common_name,
    load_certificate,
    split_pem_chain,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import poll
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeProtocolError,
    ConfigurationError,
    DeadlineExceeded,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.retry import parse_retry_after

try:
    import josepy as jose
    from acme import messages
    from cryptography import x509
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    pass

CHALLENGE_TYPES = {'dns-01': 'dns-01', 'http-01': 'http-01'}
POLL_FIRST_DELAY = 0.05
POLL_MAX_DELAY = 2.0
RETRY_AFTER_CAP = 10.0

if 'messages' in globals():
    class NewOrderWithReplaces(messages.NewOrder):
        """newOrder with ARI's ``replaces`` (RFC 9773), which certbot's message lacks."""
        replaces: str | None = jose.field('replaces', omitempty=True)


class PendingChallenge:
    """A challenge this client must satisfy, and what satisfies it."""

    def __init__(self, certificate_name, authz_url, domain, wildcard, challb, jwk):
        self.certificate_name = certificate_name
        self.authz_url = authz_url
        self.domain = domain            # the identifier, without "*." for wildcards
        self.wildcard = wildcard
        self.challb = challb
        self.type = challb.chall.typ
        self.response = challb.chall.response(jwk)
        if self.type == 'dns-01':
            self.record_name = challb.chall.validation_domain_name(domain)
            self.value = challb.chall.validation(jwk)
        else:
            self.record_name = None
            self.value = self.response.key_authorization
            self.token = challb.chall.encode('token')
            self.path = challb.chall.path

    def __repr__(self):
        return '<%s %s %s>' % (self.type, self.domain, self.certificate_name)

    def to_data(self):
        """Plain data for the playbook (nothing secret: a key authorization is public by design)."""
        data = {'authorization': self.authz_url, 'domain': self.domain, 'wildcard': self.wildcard,
                'type': self.type}
        if self.type == 'http-01':
            data.update(token=self.token, key_authorization=self.value,
                        path='.well-known/acme-challenge/' + self.token)
        else:
            data.update(record_name=self.record_name, value=self.value)
        return data


class Order:
    """One certificate's order, from creation to the downloaded chain."""

    def __init__(self, session, certificate_name, domains, challenge_type, deadline,
                 profile=None, replaces=None):
        if challenge_type not in CHALLENGE_TYPES:
            raise ConfigurationError('Certificate %s: challenge must be dns-01 or http-01, not %r'
                                     % (certificate_name, challenge_type))
        self.session = session
        self.name = certificate_name
        self.domains = list(domains)
        self.challenge_type = challenge_type
        self.deadline = deadline
        self.profile = profile
        self.replaces = replaces
        self.order = None          # acme.messages.OrderResource
        self.challenges = []       # PendingChallenge to satisfy
        self.authz_urls = []

    def _client(self):
        """This thread's client, bound to this order's overall deadline."""
        cli = self.session.client()
        cli.net.deadline = self.deadline
        return cli

    # -- creation ---------------------------------------------------------
    def create(self):
        """Create the order and list the challenges still to satisfy."""
        cli = self._client()
        identifiers = [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=d) for d in self.domains]
        fields = {'identifiers': identifiers}
        if self.profile:
            profiles = self.session.meta('profiles') or {}
            if profiles and self.profile not in profiles:
                raise ConfigurationError(
                    'Certificate %s: the CA offers no profile %r; it offers %s'
                    % (self.name, self.profile, ', '.join(sorted(profiles))))
            fields['profile'] = self.profile
        if self.replaces:
            fields['replaces'] = self.replaces
        body = NewOrderWithReplaces(**fields)
        response = cli._post(cli.directory['newOrder'], body)  # pylint: disable=protected-access
        order_body = messages.Order.from_json(response.json())
        self.order = messages.OrderResource(body=order_body, uri=response.headers.get('Location'),
                                            authorizations=[])
        self._load_authorizations(cli)
        return self.challenges

    @classmethod
    def from_url(cls, session, certificate_name, url, challenge_type, deadline, domains=None):
        """The order the CA holds at ``url``, with its authorizations re-read from the CA.

        The finishing step starts from here: what the CA says now is the truth, not what
        an earlier step remembers. ``domains``, when given, must be the order's names.
        """
        order = cls(session, certificate_name, domains or [], challenge_type, deadline)
        cli = order._client()
        try:
            response = cli._post_as_get(url)  # pylint: disable=protected-access
        except AcmeProtocolError as exc:
            raise AcmeProtocolError('Certificate %s: could not read its order back from the CA: %s'
                                    % (certificate_name, exc), problem=exc.problem, url=url, status=exc.status)
        body = messages.Order.from_json(response.json())
        order.order = messages.OrderResource(body=body, uri=url, authorizations=[])
        names = [i.value for i in body.identifiers]
        if domains is not None and sorted(set(names)) != sorted(set(domains)):
            raise ConfigurationError(
                'Certificate %s: its order at %s is for %s, but the certificate now declares %s; '
                'run again to order it anew' % (certificate_name, url, ', '.join(names), ', '.join(domains)))
        order.domains = names
        status = body.status
        if status == messages.STATUS_INVALID:
            raise AcmeProtocolError('Certificate %s: the order at %s is invalid: %s' % (
                certificate_name, url, body.error.detail if body.error and body.error.detail else 'no detail given'),
                problem=problem_to_dict(body.error) if body.error else None, url=url)
        if status not in (messages.STATUS_PENDING, messages.STATUS_READY):
            # processing or valid: finalized already, with a key this run does not have.
            raise AcmeProtocolError('Certificate %s: the order at %s was already finalized (%s); run again '
                                    'to order it anew' % (certificate_name, url, status.name), url=url)
        order._load_authorizations(cli)
        return order

    def _load_authorizations(self, cli):
        self.authz_urls = list(self.order.body.authorizations)
        self.challenges = []
        for url in self.authz_urls:
            authz = messages.Authorization.from_json(cli._post_as_get(url).json())  # pylint: disable=protected-access
            self._collect(url, authz)

    def _collect(self, url, authz):
        domain = authz.identifier.value
        label = ('*.' + domain) if authz.wildcard else domain
        if authz.status == messages.STATUS_VALID:
            return                      # reused authorization: nothing to prove
        if authz.status != messages.STATUS_PENDING:
            raise AcmeProtocolError('Certificate %s: authorization for %s is %s before any challenge was answered'
                                    % (self.name, label, authz.status.name), url=url)
        for challb in authz.challenges:
            if challb.chall.typ == self.challenge_type:
                self.challenges.append(PendingChallenge(
                    self.name, url, domain, bool(authz.wildcard), challb, self.session.jwk))
                return
        offered = ', '.join(sorted(c.chall.typ for c in authz.challenges))
        raise AcmeProtocolError('Certificate %s: the CA offers no %s challenge for %s (it offers %s)'
                                % (self.name, self.challenge_type, label, offered), url=url)

    @property
    def url(self):
        return self.order.uri if self.order is not None else None

    # -- validation -------------------------------------------------------
    def answer_and_wait(self):
        """Tell the CA the challenges are ready, then wait until every authorization is valid."""
        cli = self._client()
        for pending in self.challenges:
            cli._post(pending.challb.uri, pending.response)  # pylint: disable=protected-access
        for pending in self.challenges:
            self._wait_authorization(cli, pending)

    def _wait_authorization(self, cli, pending):
        label = ('*.' + pending.domain) if pending.wildcard else pending.domain
        last_error = []

        def probe():
            response = cli._post_as_get(pending.authz_url)  # pylint: disable=protected-access
            authz = messages.Authorization.from_json(response.json())
            ours = [c for c in authz.challenges if c.chall.typ == pending.type]
            failed = [c for c in ours if c.status == messages.STATUS_INVALID]
            if authz.status == messages.STATUS_VALID:
                return authz
            error = next((c.error for c in (failed or ours) if c.error is not None), None)
            if authz.status == messages.STATUS_INVALID or failed:
                raise self._validation_error(pending, label, error)
            # step-ca keeps a challenge pending after a failed check and only records the
            # error: remember it, so a timeout can say what the CA last saw.
            last_error[:] = [error] if error is not None else last_error
            return None, parse_retry_after(response.headers.get('Retry-After'))

        waiting_for = 'the CA to validate %s for certificate %s (%s)' % (label, self.name, pending.type)
        try:
            poll(probe, self.deadline, waiting_for, first_delay=POLL_FIRST_DELAY, max_delay=POLL_MAX_DELAY,
                 retry_after_cap=RETRY_AFTER_CAP)
        except DeadlineExceeded as exc:
            if not last_error:
                raise
            raise self._validation_error(pending, label, last_error[0], prefix=str(exc) + '; ')

    def _validation_error(self, pending, label, error, prefix=''):
        return AcmeProtocolError(
            '%sCertificate %s: the CA could not validate %s with %s: %s'
            % (prefix, self.name, label, pending.type,
               error.detail if error is not None and error.detail else 'no detail given'),
            problem=problem_to_dict(error) if error is not None else None,
            url=pending.authz_url, domain=label)

    # -- finalization -----------------------------------------------------
    def finalize(self, csr_pem, preferred_chain=None):
        """Send the CSR, wait for issuance, download the chain; returns fullchain PEM text."""
        cli = self._client()
        csr = messages.CertificateRequest(csr=x509.load_pem_x509_csr(csr_pem))
        try:
            response = cli._post(self.order.body.finalize, csr)  # pylint: disable=protected-access
            body = messages.Order.from_json(response.json())
        except AcmeProtocolError as exc:
            if exc.problem.get('type', '').endswith(':orderNotReady'):
                body = None
            else:
                raise AcmeProtocolError('Certificate %s: the CA refused to finalize the order: %s' % (self.name, exc),
                                        problem=exc.problem, url=exc.url, status=exc.status)

        def probe():
            response = cli._post_as_get(self.order.uri)  # pylint: disable=protected-access
            order = messages.Order.from_json(response.json())
            if order.status == messages.STATUS_VALID and order.certificate:
                return order
            if order.status == messages.STATUS_INVALID:
                raise AcmeProtocolError('Certificate %s: the order became invalid: %s'
                                        % (self.name, order.error.detail if order.error else 'no detail given'),
                                        problem=problem_to_dict(order.error) if order.error else None,
                                        url=self.order.uri)
            return None, parse_retry_after(response.headers.get('Retry-After'))

        if body is not None and body.status == messages.STATUS_VALID and body.certificate:
            order = body
        else:
            order = poll(probe, self.deadline, 'the CA to issue certificate %s' % self.name,
                         first_delay=POLL_FIRST_DELAY, max_delay=POLL_MAX_DELAY,
                         retry_after_cap=RETRY_AFTER_CAP)
        cert_response = cli._post_as_get(order.certificate)  # pylint: disable=protected-access
        chains = [cert_response.text]
        if preferred_chain:
            for url in cli._get_links(cert_response, 'alternate'):  # pylint: disable=protected-access
                chains.append(cli._post_as_get(url).text)  # pylint: disable=protected-access
        return select_chain(chains, preferred_chain)


def select_chain(chains, preferred_issuer=None):
    """The first chain whose top certificate is issued by (or is) ``preferred_issuer``.

    Matching the top of the chain is what certbot and lego do: it names the root the
    chain leads to, whichever intermediates sit between.
    """
    if preferred_issuer:
        for chain in chains:
            certs = split_pem_chain(chain)
            if not certs:
                continue
            top = load_certificate(certs[-1])
            subject = top.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            names = {issuer_common_name(top)} | {a.value for a in subject}
            if preferred_issuer in names:
                return chain
    return chains[0]
