# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a whole run did, gathered from the play's hosts: the facts behind the summary.

:func:`run_outcome` reads what each host recorded (deployed certificates, a failed step,
certificates rolled back) and which hosts were never reached, and separates failures of
the run as a whole (a controller step such as the store pull, which fails every host at
once) from failures of one host. :func:`run_report` turns that and the certificate
results into the summary the job output ends with (the same text the notify module
sends), the totals line and the list of failures to fail the run with.
"""

from __future__ import annotations

import re

from ansible_collections.autotls.acme.plugins.module_utils._notify.notify import (
    DEFAULT_EXPIRING_DAYS,
    RunSummary,
    _one_line,
)

# Facts the cert_deploy role leaves on each host.
DEPLOYED_VAR = 'autotls_cert_deploy_changed'
ROLLED_BACK_VAR = 'autotls_cert_deploy_rolled_back'
# server name -> the certificates whose files changed for it and passed its check.
DEPLOY_SERVERS_VAR = 'autotls_cert_deploy_servers'


def _get(variables, name, default=None):
    if not name:
        return default
    try:
        value = variables.get(name, default)
    except Exception:  # pylint: disable=broad-except  # an undefined template in a host's vars
        return default
    return default if value is None else value


def _names(value):
    """Certificate names from a list of names or of dicts with ``certificate``/``name``."""
    names = []
    for item in value if isinstance(value, (list, tuple)) else ([value] if value else []):
        if isinstance(item, dict):
            item = item.get('certificate') or item.get('name')
        if item and str(item) not in names:
            names.append(str(item))
    return names


# Ansible wraps a filter's error in its own words; the filter's message is what says what to change.
_WRAPPED = re.compile(r"^Task failed: .*?The filter plugin '[^']+' failed: ", re.S)


def _unwrap(msg):
    return _WRAPPED.sub('', msg, count=1)


def _add_once(items, item):
    if item and item not in items:
        items.append(item)


def run_outcome(hostvars, hosts, active_hosts, run_errors=(), failure_var=None, reached_var=None):
    """``{'deployed': [...], 'hosts': [...], 'run_errors': [...]}`` for the summary.

    ``hosts``: every host of the play (``ansible_play_hosts_all``); ``active_hosts``: those
    still running (``ansible_play_hosts``). ``failure_var``: the per-host fact a play's
    ``rescue`` sets, a dict with ``task``, ``msg`` and ``controller`` (true when the failed
    task ran once on the controller, so it failed every host: a run-level failure).
    ``reached_var``: a fact an ``always`` section sets on every host it runs for; a host
    without it was unreachable.
    """
    active = set(active_hosts or [])
    errors = []
    for error in run_errors or []:
        _add_once(errors, _one_line(error, 2000) if error else None)
    problems, deployed = [], []
    # A controller step that failed fails every host, but Ansible runs the rescue only on
    # the host that ran it: the others are stopped without a record of their own.
    failures = {}
    for host in hosts or []:
        failure = _get(hostvars[host], failure_var)
        failures[host] = failure if isinstance(failure, dict) else None
    controller_failed = any(f and f.get('controller') for f in failures.values())
    for host in hosts or []:
        variables = hostvars[host]
        failure = failures[host]
        if failure and failure.get('controller'):
            msg = _one_line(_unwrap(str(failure.get('msg') or 'no message')), 2000)
            # Already named (the store pull has its own line): once is enough.
            if not any(msg in error for error in errors):
                _add_once(errors, _one_line('Step "%s" failed: %s' % (failure.get('task') or '?', msg), 2000))
            failure = None
        rolled_back = _names(_get(variables, ROLLED_BACK_VAR, []))
        reached = _get(variables, reached_var, False) if reached_var else True
        if host not in active and not failure and not reached:
            problems.append(dict(host=host, status='unreachable',
                                 msg='no connection (see the job output for the SSH error)'))
            continue
        if host not in active and not failure and controller_failed:
            continue  # stopped by the run-level failure, which is reported
        if failure or host not in active or rolled_back:
            msg = ('step "%s" failed: %s' % (failure.get('task') or '?', failure.get('msg') or 'no message')
                   if failure else '')
            if not msg and rolled_back:
                msg = 'the check of its server refused %s; the previous files are back' % ', '.join(rolled_back)
            if not msg and host not in active:
                msg = 'failed (see the job output)'
            problems.append(dict(host=host, status='rolled_back' if rolled_back else 'failed', msg=msg,
                                 certificates=rolled_back))
            # A host whose deploy put certificates back reloaded the others before it failed (cert_deploy):
            # those are deployed. Any other failure leaves what the host serves unknown.
            if (failure or host not in active) and not rolled_back:
                continue
        skipped = set(rolled_back)
        servers = _get(variables, DEPLOY_SERVERS_VAR, {})
        servers = servers if isinstance(servers, dict) else {}
        for name in _names(_get(variables, DEPLOYED_VAR, [])):
            if name not in skipped:
                item = dict(host=host, certificate=name)
                served_by = [str(server) for server, names in servers.items() if isinstance(names, list) and name in names]
                if served_by:
                    item['servers'] = served_by
                deployed.append(item)
    return dict(deployed=deployed, hosts=problems, run_errors=errors)


def run_report(results, outcome, expiring_days=DEFAULT_EXPIRING_DAYS, title=None):
    """The summary of a run for the job output, and what to fail it with.

    Returns ``text`` (as sent by the notify module), ``lines`` (the text as a list, ending
    with the totals line), ``totals_line``, ``counts``, and ``failures``: one line per
    run-level failure, failed certificate and failed host; empty when the run succeeded.
    """
    outcome = outcome or {}
    summary = RunSummary(results or [], deployed=outcome.get('deployed'), expiring_days=expiring_days,
                         title=title, run_errors=outcome.get('run_errors'), hosts=outcome.get('hosts'))
    failures = list(summary.run_errors)
    failures += [entry.reason if entry.reason.lower().startswith('certificate %s:' % entry.name.lower())
                 else 'certificate %s: %s' % (entry.name, entry.reason) for entry in summary.failed]
    failures += ['host %s: %s' % (problem.host, problem.detail()) for problem in summary.host_problems]
    text = summary.text()
    totals = summary.totals_line()
    return dict(text=text, lines=text.rstrip('\n').split('\n') + [totals], totals_line=totals,
                counts=summary.counts(), failures=failures)
