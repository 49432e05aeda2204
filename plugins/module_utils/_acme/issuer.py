# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue or renew many certificates in one run, concurrently, each failure isolated.

The run goes in phases so that challenge records are published in bulk (one Route53
change per zone, one propagation wait for all names) rather than once per certificate:
  1. decide, offline, which certificates are due;
  2. create the orders (in parallel) and collect their challenges;
  3. let each solver present its challenges at once (DNS records, webroot tokens);
  4. answer, wait for validation, finalize and write files (in parallel);
  5. clean up every challenge, always, whatever happened before: as soon as every
     authorization is settled (while certificates are still finalized), else at the end.

When somebody else must place the challenges (HTTP-01 tokens travel to the hosts over
Ansible's own connection), the run is cut in two: ``order`` decides and creates the orders
and returns, per certificate, what it decided (action, reason, ``replaces``, challenge
type, order URL, tokens); ``resume`` finishes exactly those orders, re-reading each order
and its authorizations from the CA by URL. It never decides again: a certificate that the
first step found due by the CA's renewal window (ARI) is renewed, whatever the files say.

The new private key is made in the finishing step, just before the CSR is sent: an
order needs no key (only names), so no key ever travels through Ansible results or
waits on disk for a second step, and an abandoned order leaves nothing behind.

Each certificate's ``timeout`` starts when a worker picks it up, once for ordering and
once for validation and issuance: time spent queued behind other certificates or in the
shared DNS wait (which has its own deadline) is not charged to it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading

from ansible_collections.autotls.acme.plugins.module_utils._acme.ari import (
    RenewalInfo,
    ari_cert_id,
    offers_ari,
)
from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import (
    CertificateFiles,
    describe,
    load_certificate,
    not_valid_after,
    not_valid_before,
    same_names,
    split_pem_chain,
    utcnow,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.timings import NoTimings
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeProtocolError,
    AutoTLSError,
    ConfigurationError,
)
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import (
    KEY_TYPES,
    generate_private_key,
    key_matches_certificate,
    key_type_of,
    load_private_key,
    make_csr,
    private_key_to_pem,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import (
    RATE_LIMITED,
    UNREACHABLE,
    IssuerUnavailable,
    ca_side,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.orders import Order
from ansible_collections.autotls.acme.plugins.module_utils._model.certificate import CHALLENGES
from ansible_collections.autotls.acme.plugins.module_utils._model.domains import normalize_domains
from ansible_collections.autotls.acme.plugins.module_utils._model.names import validate_name


NO_SOLVER = {
    'http-01': ('http-01 tokens must be placed on the hosts that serve the names: run this module '
                'with phase: order, copy the returned http01_tokens into the webroots, then run it with '
                'phase: finish (playbooks/renew.yml and playbooks/onboard.yml do exactly that)'),
}


class PlacedTokens:
    """HTTP-01 'solver' for the finishing step: the playbook already placed the tokens."""
    challenge_type = 'http-01'

    def present(self, items):
        return {}

    def cleanup(self):
        pass


class CertificateSpec:
    """One certificate as the operator declared it."""

    def __init__(self, name, domains, challenge='dns-01', key_type='ec256', reuse_key=False,
                 zone_id=None, profile=None, preferred_chain=None, force=False, **extra):
        validate_name(name)
        if challenge not in CHALLENGES:
            raise ConfigurationError('Certificate %r: challenge %r is not one of %s.'
                                     % (name, challenge, ', '.join(CHALLENGES)))
        if key_type not in KEY_TYPES:
            raise ConfigurationError('Certificate %s: key_type %r is not one of %s'
                                     % (name, key_type, ', '.join(KEY_TYPES)))
        self.name = name
        # The model's domain rule: LDH names, lower-cased, xn-- form, wildcards only with dns-01.
        self.domains = normalize_domains(domains, name, challenge)
        self.challenge = challenge
        self.key_type = key_type
        self.reuse_key = reuse_key
        self.zone_id = zone_id
        self.profile = profile
        self.preferred_chain = preferred_chain
        self.force = force
        self.extra = extra


class Outcome:
    """What happened to one certificate; ``as_result()`` is what the module returns."""

    def __init__(self, spec, files):
        self.spec = spec
        self.files = files
        self.due = None
        self.reason = None
        self.changed = False
        self.action = 'none'
        self.error = None
        self.facts = {}
        self.current = None         # the certificate in place before this run, if any
        self.replaces = None        # its ARI identifier, when the renewal order named it
        self.ari_issuer = None      # the issuer whose renewal information (ARI) answered for it this run
        self.challenge_type = spec.challenge
        self.order_url = None       # the CA's URL of this run's order
        self.warnings = []
        # Issuers in order (_acme.fallback): where the certificate is, and where it has been.
        self.stage = None           # account, order, validation or finalize: what a failure was about
        self.acme_issuer = None     # name of the issuer ordered from (the configured issuer, not the CA's CN)
        self.tried = []             # [(issuer name, why it moved on)] for the issuers left behind
        self.deferred = False       # rate-limited everywhere: left for the next run
        self.retry = False          # to be ordered from the next issuer in another round of the run

    def fail(self, error):
        # Every message names its certificate, whichever layer raised it.
        prefix = 'Certificate %s: ' % self.spec.name
        if not str(error).startswith(prefix):
            error = type(error)(prefix + str(error), **getattr(error, 'details', {})) \
                if isinstance(error, AutoTLSError) else AutoTLSError(prefix + str(error))
        self.error = error
        self.changed = False

    def move_on(self, issuer_name, why):
        """Leave ``issuer_name`` behind (its failure was on the CA's side): due again, for the next issuer."""
        self.tried.append((issuer_name, why))
        self.error = None
        self.changed = True
        self.order_url = None
        self.replaces = None
        self.stage = None
        self.acme_issuer = None

    def decision(self, order, account_url=None):
        """What the order step decided and made, for the finishing step (nothing secret)."""
        data = {
            'name': self.spec.name,
            'action': self.action,
            'reason': self.reason,
            'domains': self.spec.domains,
            'challenge_type': order.challenge_type,
            'url': order.url,
            'challenges': [c.to_data() for c in order.challenges],
        }
        if self.replaces:
            data['replaces'] = self.replaces
        if account_url:
            data['account'] = account_url
        if self.acme_issuer:
            data['issuer'] = self.acme_issuer
        if self.tried:
            data['tried'] = [{'issuer': name, 'reason': why} for name, why in self.tried]
        return data

    def carried(self):
        """What another round of the run needs to order it from the next issuer (nothing secret)."""
        return {'name': self.spec.name, 'action': self.action, 'reason': self.reason,
                'challenge_type': self.challenge_type,
                'tried': [{'issuer': name, 'reason': why} for name, why in self.tried]}

    @classmethod
    def from_decision(cls, spec, files, data):
        """The outcome the order step decided, taken as it was decided."""
        outcome = cls(spec, files)
        outcome.due, outcome.changed = True, True
        outcome.action = data.get('action') if data.get('action') in ('issue', 'renew') else 'renew'
        outcome.reason = data.get('reason')
        outcome.replaces = data.get('replaces')
        outcome.challenge_type = data.get('challenge_type') or spec.challenge
        outcome.order_url = data.get('url')
        outcome.acme_issuer = data.get('issuer')
        outcome.tried = [(str(t.get('issuer')), str(t.get('reason'))) for t in data.get('tried') or []
                         if isinstance(t, dict)]
        return outcome

    def as_result(self):
        result = {
            'name': self.spec.name,
            'domains': self.spec.domains,
            'changed': self.changed,
            'action': self.action,
            'reason': self.reason,
            'files': self.files.files(),
        }
        if self.spec.extra.get('hosts'):
            result['hosts'] = self.spec.extra['hosts']
        if self.replaces:
            result['replaces'] = self.replaces
        if self.order_url:
            result['order_url'] = self.order_url
        if self.acme_issuer:
            result['acme_issuer'] = self.acme_issuer
        if self.tried:
            # Moved: the issuers it left behind this run, each with why.
            result['moved'] = bool(self.acme_issuer) or self.retry
            result['issuers_tried'] = ['%s: %s' % (name, why) for name, why in self.tried]
        if self.deferred:
            result['deferred'] = True
        if self.retry:
            result['retry'] = True
        result.update(self.facts)
        if self.error is not None:
            result['failed'] = True
            result['msg'] = str(self.error)
            details = getattr(self.error, 'details', {})
            if details.get('problem'):
                result['problem'] = details['problem']
        return result


class Issuer:
    """One CA (one session): plans, orders, validates and finalizes many certificates concurrently.

    ``name`` and ``state`` (an :class:`~.fallback.IssuerState`) tie it into a list of
    issuers: once the run learns the CA rate-limits (or cannot be reached), no further
    new order is sent to it, and its queued certificates fail at once with
    :class:`~.fallback.IssuerUnavailable`, for the next issuer to take.
    ``default_profile`` is the profile of certificates that set none.
    """

    def __init__(self, session, solvers, policy, dest, workers=8, timeout=300,
                 account_options=None, file_mode=0o644, key_mode=0o600, ari_timeout=30, timings=None,
                 name=None, state=None, default_profile=None, owner=None):
        self.session = session
        self.owner = owner or None      # recorded with each certificate written (retirement's owner)
        self.name = name or getattr(session, 'directory_url', 'the CA')
        self.state = state
        self.default_profile = default_profile
        self.ari_timeout = ari_timeout
        self.warnings = []          # about the run as a whole (a CA's ARI endpoint failing)
        self.timings = timings or NoTimings()
        self.solvers = solvers
        self.policy = policy
        self.dest = dest
        self.workers = max(1, workers)
        self.timeout = timeout
        self.account_options = account_options or {}
        self.file_mode = file_mode
        self.key_mode = key_mode

    # -- phase 1 ----------------------------------------------------------
    def plan(self, specs, now=None):
        """Decide, from the files alone, which certificates are due. Contacts nobody."""
        now = now or utcnow()
        outcomes = []
        for spec in specs:
            outcome = Outcome(spec, CertificateFiles(os.path.join(self.dest, spec.name)))
            cert = outcome.files.read_certificate() if outcome.files.exists() else None
            if cert is None:
                outcome.due, outcome.reason = True, 'no certificate yet'
            else:
                outcome.facts = describe(cert, now)
                if spec.force:
                    outcome.due, outcome.reason = True, 'renewal forced'
                elif not key_matches_certificate(outcome.files.read_key_pem(), cert):
                    outcome.due, outcome.reason = True, ('the private key in the store does not belong to '
                                                         'the certificate (or cannot be read)')
                elif not same_names(outcome.facts['domains'], spec.domains):
                    outcome.due, outcome.reason = True, 'domains changed (was %s)' % ', '.join(outcome.facts['domains'])
                elif outcome.facts['key_type'] != spec.key_type:
                    outcome.due, outcome.reason = True, 'key type changed (was %s)' % outcome.facts['key_type']
                else:
                    outcome.due, outcome.reason = self.policy.decide(
                        not_valid_before(cert), not_valid_after(cert), now)
            outcome.current = cert
            if outcome.due:
                outcome.action = 'issue' if cert is None else 'renew'
                outcome.changed = True
            outcomes.append(outcome)
        return outcomes

    def consult_ari(self, outcomes, now=None):
        """Ask the CA's renewal information about certificates the local rules find not due.

        Only when the CA offers ARI; a CA that moves the window earlier (say, before a
        mass revocation) is heard this way. The lookups run concurrently under one
        overall deadline (``ari_timeout``), at most two tries each; once the endpoint
        fails it is asked no more this run and the days and fraction rules decide, with
        a warning that names the CA.
        """
        now = now or utcnow()
        candidates = [o for o in outcomes if not o.due and o.current is not None and o.error is None]
        if not self.policy.ari or not candidates:
            return
        try:
            if not offers_ari(self.session):
                return
        except AutoTLSError as exc:
            self.warnings.append('Could not learn whether the CA at %s offers renewal information (ARI): %s; '
                                 'the days and fraction rules decided this run' % (self.session.directory_url, exc))
            return
        info = RenewalInfo(self.session, Deadline(self.ari_timeout))
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.workers, len(candidates))) as pool:
            futures = [(pool.submit(info.suggested_time, o.current), o) for o in candidates]
            for future, outcome in futures:
                try:
                    when = future.result()
                except AutoTLSError as exc:
                    outcome.warnings.append('Certificate %s: %s' % (outcome.spec.name, exc))
                    continue
                if when is None:
                    continue
                outcome.facts['ari_renewal_time'] = when.strftime('%Y-%m-%dT%H:%M:%SZ')
                outcome.ari_issuer = self.name
                due, reason = self.policy.decide(not_valid_before(outcome.current),
                                                 not_valid_after(outcome.current), now, ari_window_start=when)
                if due:
                    outcome.due, outcome.reason = True, reason
                    outcome.action, outcome.changed = 'renew', True
        if info.failure is not None:
            self.warnings.append(
                'The renewal information (ARI) endpoint of the CA at %s failed (%s); it was not asked again '
                'this run, and the days and fraction rules decided for %d certificate%s'
                % (self.session.directory_url, info.failure, info.skipped, '' if info.skipped == 1 else 's'))

    # -- phases 2 to 5 ----------------------------------------------------
    def run(self, outcomes):
        """Everything in one go: for challenges this process can solve itself (dns-01)."""
        due = self._start(outcomes)
        orders = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.workers) as pool:
            with self._preparing(due):
                self._create_orders(pool, due, orders)
            self._finish(pool, [o for o in due if o.error is None], orders)
        return outcomes

    @contextlib.contextmanager
    def _preparing(self, due):
        """Let each solver look up what it can from the names alone while the orders are made.

        DNS-01 finds the hosted zone of every challenge name while the CA creates the
        orders, instead of after. A solver's ``prepare`` never raises: what it could not
        find, its ``present`` finds (and reports) again. The block's end waits for it.
        """
        jobs = []
        for challenge_type, solver in self.solvers.items():
            specs = [o.spec for o in due if o.spec.challenge == challenge_type]
            if specs and hasattr(solver, 'prepare'):
                jobs.append((solver.prepare, specs))
        if not jobs:
            yield
            return
        helper = concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs))
        try:
            futures = [helper.submit(prepare, specs) for prepare, specs in jobs]
            yield
            concurrent.futures.wait(futures)
        finally:
            helper.shutdown(wait=False, cancel_futures=True)

    def order(self, outcomes):
        """First half of a two-step run: create the orders; returns what was decided, per certificate.

        Used when somebody else must place the challenge (HTTP-01 tokens go to the
        hosts over Ansible's own connection between the two steps). The returned
        decisions go to :meth:`resume` unchanged.
        """
        due = self._start(outcomes)
        orders = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.workers) as pool:
            self._create_orders(pool, due, orders)
        account = self.session.account.uri if self.session.account is not None else None
        return [o.decision(orders[o.spec.name], account) for o in due if o.error is None]

    def resume(self, specs, decisions):
        """Second half: finish exactly the orders :meth:`order` decided, re-read from the CA.

        ``specs`` give what the orders do not (key type, chain, zone); nothing is
        planned again. Returns the outcomes of the decided certificates only.
        """
        by_name = {spec.name: spec for spec in specs}
        outcomes = []
        for data in decisions or []:
            name = data.get('name') if isinstance(data, dict) else None
            if name not in by_name:
                raise ConfigurationError(
                    'orders names certificate %r, which is not in certificates: pass the orders and the '
                    'certificates of the same order step' % (name,))
            spec = by_name[name]
            outcome = Outcome.from_decision(spec, CertificateFiles(os.path.join(self.dest, spec.name)), data)
            if not outcome.order_url:
                outcome.fail(ConfigurationError('the order data from the first step has no order URL '
                                                '(pass that step\'s orders unchanged)'))
            outcomes.append(outcome)
        accounts = set(d.get('account') for d in decisions or [] if isinstance(d, dict) and d.get('account'))
        if len(accounts) == 1 and self.session.account is None:
            # The first step found (or made) the account: no need to ask the CA again.
            self.session.use_account(accounts.pop())
        due = self._start(outcomes)
        orders = {}

        def load(outcome):
            outcome.stage = 'order'
            with self._noting('order'):
                orders[outcome.spec.name] = self._read_order(outcome)

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.workers) as pool:
            with self._preparing(due):
                self._each(pool, due, load)
            self._finish(pool, [o for o in due if o.error is None], orders)
        return outcomes

    def _read_order(self, outcome):
        return Order.from_url(self.session, outcome.spec.name, outcome.order_url, outcome.challenge_type,
                              Deadline(self.timeout), domains=outcome.spec.domains)

    def _gate(self):
        """Raise IssuerUnavailable when the run stopped ordering from this CA."""
        why = self.state.unavailable(self.name) if self.state is not None else None
        if why:
            raise IssuerUnavailable.at(self.name, why)

    def _note(self, exc, stage):
        """A rate limit or an unreachable CA stops the run's new orders to it at once."""
        if self.state is None or not isinstance(exc, AutoTLSError):
            return
        verdict = ca_side(exc, stage)
        if verdict is not None and verdict.kind in (RATE_LIMITED, UNREACHABLE):
            self.state.block(self.name, verdict)

    def carried_outcome(self, spec, data):
        """The outcome of a certificate carried from an earlier round (:meth:`Outcome.carried`), due as decided."""
        data = dict(data, url=None, issuer=None)
        return Outcome.from_decision(spec, CertificateFiles(os.path.join(self.dest, spec.name)), data)

    def _start(self, outcomes):
        due = [o for o in outcomes if o.due and o.error is None]
        if due:
            try:
                self._gate()
                with self.timings.phase('account'):
                    self.session.ensure_account(**self.account_options)
            except AutoTLSError as exc:
                self._note(exc, 'account')
                for outcome in due:
                    outcome.stage = 'account'
                    outcome.fail(exc)
                return []
        return due

    def _finish(self, pool, live, orders):
        cleanup = _Cleanup(self.solvers, self.timings)
        try:
            self._present(live, orders)
            live = [o for o in live if o.error is None]
            # Once every authorization is settled (valid, invalid or given up on), the
            # challenges are no longer needed: they are removed while the certificates
            # are still being finalized and written.
            settled = _Countdown(len(live), cleanup.start)
            self._each(pool, live, lambda o: self._complete(o, orders[o.spec.name], settled))
        finally:
            cleanup.finish()

    def _create_orders(self, pool, due, orders):
        """The orders of ``due``: the first alone, then the others concurrently.

        A CA that rate-limits (or is down) answers the first one so: the others are then
        not sent to it at all (IssuerUnavailable), instead of a whole wave of requests
        that would each count against the limit. It costs one round trip per run.
        """
        def create(outcome):
            orders[outcome.spec.name] = self._create_order(outcome)

        self._each(pool, due[:1], create)
        self._each(pool, due[1:], create)

    def _each(self, pool, outcomes, work):
        futures = {pool.submit(work, o): o for o in outcomes}
        for future in concurrent.futures.as_completed(futures):
            outcome = futures[future]
            try:
                future.result()
            except AutoTLSError as exc:
                outcome.fail(exc)
            except Exception as exc:  # pylint: disable=broad-except
                # One certificate's surprise must not take the others down.
                outcome.fail(AutoTLSError('Certificate %s: unexpected %s: %s'
                                          % (outcome.spec.name, type(exc).__name__, exc)))

    def _create_order(self, outcome):
        spec = outcome.spec
        outcome.stage = 'order'
        self._gate()
        replaces = None
        profile = spec.profile or self.default_profile
        if outcome.current is not None and offers_ari(self.session) and self._issued_here(outcome):
            # RFC 9773: tell the CA which certificate this one replaces (Let's Encrypt
            # exempts such renewals from some rate limits). Only the CA that issued it.
            replaces = ari_cert_id(outcome.current)
        order = Order(self.session, spec.name, spec.domains, spec.challenge, Deadline(self.timeout),
                      profile=profile, replaces=replaces)
        try:
            with self.timings.phase('orders'):
                order.create()
        except AutoTLSError as exc:
            self._note(exc, 'order')
            if not replaces or not isinstance(exc, AcmeProtocolError) or exc.status not in (400, 403, 409):
                raise
            # The CA would not take `replaces` (already replaced, or not ours to replace):
            # a renewal without it is still a renewal.
            outcome.warnings.append('Certificate %s: ordered without "replaces": %s' % (spec.name, exc))
            order = Order(self.session, spec.name, spec.domains, spec.challenge, order.deadline,
                          profile=profile)
            try:
                order.create()
            except AutoTLSError as again:
                self._note(again, 'order')
                raise
            replaces = None
        outcome.replaces = replaces
        outcome.order_url = order.url
        outcome.acme_issuer = self.name
        return order

    def _issued_here(self, outcome):
        """Whether this CA issued the certificate in place: its renewal information knows it.

        ``replaces`` names a certificate of the CA's own; a certificate another issuer
        made (the run before fell back to it) is renewed here without it.
        """
        recorded = outcome.files.read_issuer()
        if recorded is not None:    # the store recorded which issuer issued it
            if recorded.get('directory'):   # the name may stand for another CA since
                return recorded['directory'] == self.session.directory_url
            return recorded['issuer'] == self.name
        if outcome.facts.get('ari_renewal_time'):
            return outcome.ari_issuer in (None, self.name)     # this CA's ARI answered for it in this run
        cert_id = ari_cert_id(outcome.current)
        if cert_id is None:
            return False
        try:
            net = self.session.network()
            net.deadline = Deadline(min(self.timeout, 10))
            response = net.fetch(self.session.directory['renewalInfo'].rstrip('/') + '/' + cert_id)
        except AutoTLSError:
            return False
        return response.status_code == 200

    def _present(self, outcomes, orders):
        by_type = {}
        for outcome in outcomes:
            order = orders[outcome.spec.name]
            by_type.setdefault(order.challenge_type, []).extend(
                (outcome.spec, c) for c in order.challenges)
        for challenge_type, items in by_type.items():
            if not items:
                continue                # every authorization was still valid
            solver = self.solvers.get(challenge_type)
            if solver is None:
                for outcome in outcomes:
                    if orders[outcome.spec.name].challenge_type == challenge_type:
                        outcome.fail(ConfigurationError(NO_SOLVER.get(challenge_type, 'no way to solve %s' % challenge_type)))
                continue
            failures = solver.present(items)
            for outcome in outcomes:
                if outcome.spec.name in failures:
                    outcome.fail(failures[outcome.spec.name])

    def _complete(self, outcome, order, settled=None):
        spec = outcome.spec
        # This certificate's own clock starts now, when a worker takes it up: not while
        # it queued behind others or waited for the shared DNS propagation.
        order.deadline = Deadline(self.timeout)
        outcome.stage = 'validation'
        try:
            with self.timings.phase('validation'):
                order.answer_and_wait()
        except AutoTLSError as exc:
            self._note(exc, 'validation')
            raise
        finally:
            if settled is not None:
                settled.done()
        outcome.stage = 'finalize'
        with self.timings.phase('finalize'), self._noting('finalize'):
            key = None
            if spec.reuse_key:
                existing = outcome.files.read_key_pem()
                if existing:
                    key = load_private_key(existing, 'existing private key of %s' % spec.name)
                    if key_type_of(key.public_key()) != spec.key_type:
                        key = None
            key = key or generate_private_key(spec.key_type)
            fullchain = order.finalize(make_csr(key, spec.domains), spec.preferred_chain)
        certs = split_pem_chain(fullchain)
        outcome.stage = 'write'
        with self.timings.phase('write'):
            record = {'issuer': self.name, 'directory': getattr(self.session, 'directory_url', None)}
            if self.owner:
                record['owner'] = self.owner
            outcome.files.write(fullchain, private_key_to_pem(key), self.file_mode, self.key_mode, issuer=record)
        outcome.facts = describe(load_certificate(certs[0]))
        outcome.changed = True

    @contextlib.contextmanager
    def _noting(self, stage):
        try:
            yield
        except AutoTLSError as exc:
            self._note(exc, stage)
            raise


class _Countdown:
    """Calls ``then()`` once, when :meth:`done` was called ``count`` times (at once if 0)."""

    def __init__(self, count, then):
        self._left = count
        self._then = then
        self._lock = threading.Lock()
        if count <= 0:
            then()

    def done(self):
        with self._lock:
            self._left -= 1
            fire = self._left == 0
        if fire:
            self._then()


class _Cleanup:
    """Every solver's cleanup, started early in its own thread or run at the end; once."""

    def __init__(self, solvers, timings):
        self.solvers = solvers
        self.timings = timings
        self._thread = None
        self._lock = threading.Lock()

    def _run(self):
        with self.timings.phase('cleanup'):
            for solver in self.solvers.values():
                solver.cleanup()

    def start(self):
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name='challenge-cleanup')
                self._thread.start()

    def finish(self):
        """Wait for the early cleanup, or run it now when it never started."""
        with self._lock:
            thread = self._thread
            if thread is None:
                self._thread = threading.current_thread()
        if thread is None:
            self._run()
            return
        # SIGTERM or Ctrl-C while waiting: the cleanup under way is let finish first, so that
        # the module's own cleanup after the interrupt never removes the same values twice at once.
        interrupted = None
        while thread.is_alive():
            try:
                thread.join()
            except KeyboardInterrupt as exc:
                interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted


def http01_tokens(outcomes, orders_data):
    """Flatten the HTTP-01 challenges of ``orders_data`` into one entry per (token, host).

    A certificate that no host declares cannot be validated over HTTP-01; it is failed
    here, before any token travels, with a message that says what to declare.
    """
    hosts_of = {o.spec.name: o.spec.extra.get('hosts') or [] for o in outcomes}
    tokens = []
    for data in orders_data:
        challenges = [c for c in data['challenges'] if c['type'] == 'http-01']
        if challenges and not hosts_of.get(data['name']):
            for outcome in outcomes:
                if outcome.spec.name == data['name']:
                    outcome.fail(ConfigurationError(
                        'it uses http-01 but no host serves it: declare it in autotls_certificates or '
                        'autotls_host_certificates of the hosts whose nginx answers for %s'
                        % ', '.join(outcome.spec.domains)))
            continue
        for challenge in challenges:
            for host in hosts_of[data['name']]:
                tokens.append({'host': host, 'certificate': data['name'], 'domain': challenge['domain'],
                               'token': challenge['token'], 'path': challenge['path'],
                               'key_authorization': challenge['key_authorization']})
    return tokens
