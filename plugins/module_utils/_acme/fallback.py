# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issuers in order: which failures move a certificate to the next CA, and rate limits.

A certificate is ordered from the first issuer. When its order fails for a reason on the
CA's side it is ordered from the next issuer in the same run:

- the CA cannot be reached, or still answers 5xx (``serverInternal``) after the
  transport's retries;
- ``rateLimited`` (HTTP 429), which is never retried: the CA is not asked for new
  orders for the rest of the run, or until its Retry-After has passed;
- the CA refuses the order or its finalization (``rejectedIdentifier``, ``caa``, an order
  that turns invalid after validation, a CA that does not issue in time).

What stays with the certificate, on any CA: our own challenge answers that the CA could
not validate (a TXT record, a webroot token), our settings (profile, key, EAB) and
requests the CA calls malformed. Those fail the certificate as before.

When no issuer is left and the last reason was a rate limit, the certificate is
deferred to the next run (not failed), unless the certificate in place expires before
that run: then it fails, saying so.

:class:`IssuerState` is what a run knows about its CAs (rate-limited until when, or
unreachable); it travels between the steps of a run (order, finish, the next round) as
plain data. :class:`IssuerChain` runs the single-CA :class:`~.issuer.Issuer` of each
issuer in turn over the certificates that still need one.
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.autotls.acme.plugins.module_utils._acme.issued_by import AmbiguousIssuer, IssuedBy
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeNetworkError,
    AcmeProtocolError,
    AutoTLSError,
    DeadlineExceeded,
)
from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import not_valid_after, utcnow

RATE_LIMITED = 'rate_limited'
UNREACHABLE = 'unreachable'
SERVER_ERROR = 'server_error'
REFUSED = 'refused'
BLOCKED = 'blocked'
# The account key rollover at the issuer is not finished: nothing is ordered with either key.
ROLLOVER = 'rollover'

# Problem types (RFC 8555 section 6.7) that say our request was wrong: the same request
# would be wrong at any CA.
OUR_PROBLEMS = frozenset(('malformed', 'badCSR', 'badSignatureAlgorithm', 'badPublicKey', 'badNonce',
                          'externalAccountRequired', 'invalidContact', 'unsupportedContact', 'badRevocationReason'))
# During validation, only this one is about the CA rather than our answer: the names'
# CAA records do not allow this CA (another may be allowed).
CA_VALIDATION_PROBLEMS = frozenset(('caa',))
DEFAULT_RUN_INTERVAL_HOURS = 24


class IssuerUnavailable(AutoTLSError):
    """The run stopped ordering from this CA (rate-limited, or unreachable): nothing was sent to it."""

    def __init__(self, msg, why=None, **details):
        super().__init__(msg, why=why, **details)
        self.why = why or msg

    @classmethod
    def at(cls, issuer, why):
        return cls('not ordered from %s: %s' % (issuer, why), why=why)


class Verdict:
    """Why a failure is the CA's: ``kind`` (one of the constants above), a short text, Retry-After."""

    def __init__(self, kind, text, retry_after=None):
        self.kind = kind
        self.text = text
        self.retry_after = retry_after

    def __repr__(self):
        return '<Verdict %s: %s>' % (self.kind, self.text)


def _problem_type(error):
    problem = getattr(error, 'problem', None) or {}
    return str(problem.get('type') or '').rsplit(':', 1)[-1]


def ca_side(error, stage):
    """A :class:`Verdict` when ``error`` is the CA's side of things, None when it is ours.

    ``stage`` is where the certificate was: ``account`` (finding the account),
    ``order`` (creating or reading back the order), ``validation`` (the CA checking our
    challenge answers) or ``finalize`` (CSR, issuance, download).
    """
    if isinstance(error, IssuerUnavailable):
        return Verdict(BLOCKED, error.why)
    if isinstance(error, AcmeNetworkError):
        return Verdict(UNREACHABLE, 'unreachable')
    if isinstance(error, AcmeProtocolError):
        kind = _problem_type(error)
        status = error.status
        if kind == 'rateLimited' or status == 429:
            return Verdict(RATE_LIMITED, 'rate limited', error.details.get('retry_after'))
        if kind == 'serverInternal' or (status is not None and status >= 500):
            return Verdict(SERVER_ERROR, 'server error (HTTP %s)' % (status or 500))
        if not kind and status is None:
            # No answer to speak of (the directory could not be read, a connection reset).
            return Verdict(UNREACHABLE, 'unreachable')
        if stage == 'validation':
            if kind in CA_VALIDATION_PROBLEMS:
                return Verdict(REFUSED, 'refused (%s)' % kind)
            return None
        if kind in OUR_PROBLEMS or stage == 'account':
            return None
        what = 'finalization' if stage == 'finalize' else 'order'
        return Verdict(REFUSED, 'refused the %s (%s)' % (what, kind or 'HTTP %s' % status))
    if isinstance(error, DeadlineExceeded) and stage in ('order', 'finalize'):
        return Verdict(SERVER_ERROR, 'no answer in time')
    return None


class IssuerState:
    """What this run learnt about its CAs, as plain data that travels between its steps.

    ``{name: {'kind': ..., 'reason': ..., 'until': epoch seconds or None}}``; ``until`` None
    means for the rest of the run.
    """

    def __init__(self, data=None, clock=time.time):
        self.clock = clock
        self.blocked = {}
        for name, entry in (data or {}).items():
            if isinstance(entry, dict):
                self.blocked[str(name)] = {'kind': entry.get('kind'), 'reason': entry.get('reason'),
                                           'until': entry.get('until')}

    def block(self, name, verdict):
        until = None
        if verdict.retry_after is not None:
            until = self.clock() + float(verdict.retry_after)
        current = self.blocked.get(name)
        if current is not None and current['until'] is None:
            return
        self.blocked[name] = {'kind': verdict.kind, 'reason': verdict.text, 'until': until}

    def unavailable(self, name):
        """Why no new order may go to ``name`` now, or None."""
        entry = self.blocked.get(name)
        if entry is None:
            return None
        if entry['until'] is not None and self.clock() >= entry['until']:
            return None
        if entry['kind'] == ROLLOVER:
            return entry['reason']
        if entry['kind'] == RATE_LIMITED:
            if entry['until'] is None:
                return 'rate limited; no new orders to it for the rest of this run'
            return 'rate limited until %s' % _utc_text(entry['until'])
        return '%s earlier in this run' % (entry['reason'] or 'failed')

    def hold(self, name, why):
        """No order goes to ``name`` this run, for ``why`` (an unfinished account key rollover)."""
        self.blocked[name] = {'kind': ROLLOVER, 'reason': why, 'until': None}

    def rate_limited(self, name):
        entry = self.blocked.get(name)
        return entry is not None and entry['kind'] == RATE_LIMITED

    def to_data(self):
        return {name: dict(entry) for name, entry in self.blocked.items()}


def _utc_text(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def deferral(not_after, now, run_interval_hours=DEFAULT_RUN_INTERVAL_HOURS):
    """(deferred, text) for a certificate no issuer would take this run because of rate limits.

    Deferred when the certificate in place still lives past the next scheduled run;
    failed when there is none, or it expires before then.
    """
    hours = run_interval_hours if run_interval_hours else DEFAULT_RUN_INTERVAL_HOURS
    next_run = now + datetime.timedelta(hours=hours)
    if not_after is None:
        return False, 'it has no certificate yet, so it cannot wait for the next run'
    if not_after <= next_run:
        expiry = not_after.strftime('%Y-%m-%d %H:%M UTC')
        return False, ('the certificate in place expires on %s, before the next run (in %g hours): renew it by '
                       'hand or add another issuer to autotls_issuers' % (expiry, hours))
    return True, 'deferred to the next run (the certificate in place is valid until %s)' % (
        not_after.strftime('%Y-%m-%d %H:%M UTC'))


class IssuerChain:
    """The issuers of a run, in order, each an :class:`~.issuer.Issuer` made on first use.

    ``configs``: the validated issuers (``_model.issuers``); ``make_issuer(config)``
    returns the Issuer of one. ``state``: the run's :class:`IssuerState`.
    ``run_interval``: hours to the next scheduled run, for deferrals.
    """

    def __init__(self, configs, make_issuer, state=None, run_interval=DEFAULT_RUN_INTERVAL_HOURS, now=None):
        if not configs:
            raise AutoTLSError('at least one issuer is needed')
        self.configs = list(configs)
        self.names = [c['name'] for c in self.configs]
        self._make = make_issuer
        self._issuers = {}
        self.state = state if state is not None else IssuerState()
        self.run_interval = run_interval
        self.now = now

    def issuer(self, name):
        if name not in self._issuers:
            self._issuers[name] = self._make(self.configs[self.names.index(name)])
        return self._issuers[name]

    @property
    def first(self):
        """The first issuer that may order this run (the first of all when none may): it plans the run."""
        held = [n for n in self.names if (self.state.blocked.get(n) or {}).get('kind') == ROLLOVER]
        return self.issuer(([n for n in self.names if n not in held] or self.names)[0])

    def open(self):
        """Make the first issuer now: its account key is read (or made), and refused, before anything else."""
        return self.first

    @property
    def used(self):
        """The issuers made so far, in order."""
        return [self._issuers[n] for n in self.names if n in self._issuers]

    @property
    def warnings(self):
        return [w for issuer in self.used for w in issuer.warnings]

    # -- the steps of a run -----------------------------------------------
    def plan(self, specs):
        """Which certificates are due: from the files alone (the first issuer's rules)."""
        return self.first.plan(specs)

    def consult_ari(self, outcomes):
        """Each certificate's renewal information, from the issuer that issued it.

        That issuer is the one the store recorded with the certificate (or whose trust
        signed it; the first when neither tells): another CA knows nothing of it. An
        issuer that takes no orders this run (rate-limited, unreachable) is not asked, nor
        is any when the trust of several issuers signed an unrecorded certificate.
        """
        candidates = [o for o in outcomes if not o.due and o.current is not None and o.error is None]
        if not candidates or not self.first.policy.ari:
            return
        issued_by = IssuedBy(self.configs)
        groups = {}
        for outcome in candidates:
            try:
                issuer, _how = issued_by.find(outcome.files, outcome.current)
            except AmbiguousIssuer as exc:   # no record, and the trust of several issuers signed it
                # Not asked of a CA that may know nothing of it: it renews by days or fraction, and
                # its next issuance records the issuer (revocation refuses instead, naming them).
                outcome.warnings.append('Certificate %s: renewal information (ARI) not asked: %s; it renews by its '
                                        'dates, and its next issuance records its issuer' % (outcome.spec.name, exc))
                continue
            except AutoTLSError as exc:   # its record names an issuer that now stands for another CA
                # Not asked, not failed: it still renews by days or fraction (revocation refuses instead).
                outcome.warnings.append('Certificate %s: renewal information (ARI) not asked: %s'
                                        % (outcome.spec.name, exc))
                continue
            groups.setdefault(issuer['name'], []).append(outcome)
        for name in self.names:
            if name in groups and self.state.unavailable(name) is None:
                self.issuer(name).consult_ari(groups[name])

    def run(self, outcomes):
        """Order, validate and finalize the due certificates, moving on along the issuers."""
        self._along([o for o in outcomes if o.due and o.error is None], lambda issuer, batch: issuer.run(batch))
        return outcomes

    def order(self, outcomes):
        """First step of a two-step run: the orders, each from the first issuer that took it."""
        decisions = []

        def work(issuer, batch):
            made = {d['name']: d for d in issuer.order(batch)}
            for outcome in batch:
                if outcome.spec.name in made:
                    decisions.append((outcome, made[outcome.spec.name]))

        self._along([o for o in outcomes if o.due and o.error is None], work)
        # A certificate whose order moved on has its decision from the issuer that took it.
        return [data for outcome, data in decisions if outcome.error is None and outcome.acme_issuer == data.get('issuer')]

    def resume(self, specs, decisions):
        """Second step: finish each order at the issuer that made it.

        A certificate whose order fails there on the CA's side is marked ``retry`` when an
        issuer is left to take it (the playbook orders it from there in another round, since
        its challenges must be placed again), else deferred or failed.
        """
        outcomes = []
        for name in self.names:
            group = [d for d in decisions or [] if isinstance(d, dict) and (d.get('issuer') or self.names[0]) == name]
            if group:
                outcomes.extend(self.issuer(name).resume(specs, group))
        unknown = [d.get('name') for d in decisions or [] if isinstance(d, dict)
                   and (d.get('issuer') or self.names[0]) not in self.names]
        if unknown:
            raise AutoTLSError('orders of %s name an issuer that is not configured: pass the orders and issuers of '
                               'the same order step' % ', '.join(str(n) for n in unknown))
        order = {d.get('name'): i for i, d in enumerate(decisions or []) if isinstance(d, dict)}
        outcomes.sort(key=lambda o: order.get(o.spec.name, 0))
        moving = []
        for outcome in outcomes:
            if self._leave(outcome, outcome.acme_issuer or self.names[0]):
                moving.append(outcome)
        for outcome in moving:
            if self._next_for(outcome) is not None:
                outcome.retry = True
                outcome.changed = False
            else:
                self._settle(outcome)
        return outcomes

    def carry(self, outcomes):
        """Another round's order step: certificates carried from the finishing step of the one before."""
        for outcome in outcomes:
            outcome.current = outcome.files.read_certificate() if outcome.files.exists() else None
        return self.order(outcomes)

    # -- moving along -----------------------------------------------------
    def _along(self, pending, work):
        """``work(issuer, batch)`` at each issuer in turn, for the certificates that still need one."""
        for name in self.names:
            batch = [o for o in pending if name not in [t for t, _w in o.tried]]
            if not batch:
                continue
            why = self.state.unavailable(name)
            if why is not None:
                for outcome in batch:
                    outcome.tried.append((name, '%s (not asked)' % why))
                continue
            work(self.issuer(name), batch)
            # Only what failed there on the CA's side goes on to the next issuer.
            pending = [o for o in pending if o not in batch or self._leave(o, name)]
        for outcome in pending:
            self._settle(outcome)

    def _leave(self, outcome, name):
        """Whether ``outcome`` failed at issuer ``name`` on the CA's side (it is then due again)."""
        if outcome.error is None:
            return False
        verdict = ca_side(outcome.error, outcome.stage)
        if verdict is None:
            return False
        # A POST sent but not answered in time (down=False) moves this certificate on, not the CA's others.
        if verdict.kind == RATE_LIMITED or (verdict.kind == UNREACHABLE and getattr(outcome.error, 'down', True)):
            self.state.block(name, verdict)
        error = outcome.error
        outcome.move_on(name, _why(verdict, error))
        outcome.last_error = error
        return True

    def _next_for(self, outcome):
        tried = [t for t, _w in outcome.tried]
        for name in self.names:
            if name not in tried and self.state.unavailable(name) is None:
                return name
        return None

    def _settle(self, outcome):
        """No issuer is left for ``outcome`` this run: deferred when only rate limits stood in the way."""
        limited = [name for name, _why in outcome.tried if self.state.rate_limited(name)]
        if limited and len(limited) == len(outcome.tried):
            current = outcome.current if outcome.current is not None else (
                outcome.files.read_certificate() if outcome.files.exists() else None)
            deferred, text = deferral(not_valid_after(current) if current is not None else None,
                                      self.now or utcnow(), self.run_interval)
            if deferred:
                outcome.deferred = True
                outcome.changed = False
                outcome.action = 'none'
                outcome.reason = '%s; %s' % (_tried_text(outcome), text)
                return
            outcome.fail(AutoTLSError('%s; %s' % (_tried_text(outcome), text)))
            return
        last = getattr(outcome, 'last_error', None)
        if len(self.names) == 1 and last is not None:
            outcome.fail(last)          # one issuer: its own message, as ever
            return
        message = 'no issuer could issue it: %s' % _tried_text(outcome)
        outcome.fail(type(last)(message, **last.details) if isinstance(last, AutoTLSError) else AutoTLSError(message))


def _why(verdict, error):
    text = str(error)
    # The certificate's name prefix says nothing here: it is this certificate's line.
    if text.startswith('Certificate ') and ': ' in text:
        text = text.split(': ', 1)[1]
    return '%s (%s)' % (verdict.text, text) if verdict.kind != BLOCKED else '%s (not asked)' % verdict.text


def _tried_text(outcome):
    return '; '.join('%s: %s' % (name, why) for name, why in outcome.tried)


def merge_rounds(rounds):
    """The results of a run's rounds (order step, finishing step each), as one word per certificate.

    ``rounds``: ``[{'ordered': <order step result>, 'finished': <finishing step result>}]``
    in order. A certificate's last word wins: a later round ordered it from the next
    issuer. Returns ``results`` (per certificate, in first-seen order) and ``errors``:
    failures of a whole step (no certificate results: a bad account key, an unreachable
    CA) and challenge records that could not be removed.
    """
    results, errors = {}, []
    for item in rounds or []:
        steps = [item.get('ordered') or {}, item.get('finished') or {}] if isinstance(item, dict) else []
        for step in steps:
            if not isinstance(step, dict) or step.get('skipped'):
                continue
            for entry in step.get('certificates') or []:
                if isinstance(entry, dict) and entry.get('name'):
                    results[entry['name']] = entry
            if step.get('msg') and 'certificates' not in step and step['msg'] not in errors:
                errors.append(step['msg'])
            for leftover in step.get('cleanup_errors') or []:
                text = 'Could not remove a challenge record: %s' % leftover
                if text not in errors:
                    errors.append(text)
    for name, entry in results.items():
        if entry.get('retry'):
            # Left for another round that never came (its step failed as a whole).
            results[name] = dict(entry, failed=True, msg='Certificate %s: was to be ordered from the next issuer, '
                                 'but the run did not get that far (%s)' % (name, '; '.join(entry.get('issuers_tried') or [])))
    return {'results': list(results.values()), 'errors': errors}
