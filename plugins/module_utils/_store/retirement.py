# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which certificates no host declares any more, and where they still are.

A certificate retires when no host of the whole inventory declares it, but a host's
manifest still lists it or the store still holds it. Deciding that from part of the
inventory (``--limit``, a narrower ``autotls_hosts``) would retire what the hosts left
out still declare, so :func:`retirement_scope` refuses anything less than every host.
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._model.names import is_valid_name


def retirement_scope(play_hosts, inventory_hosts, limit=None, job_slice=None):
    """(True, '') when the run sees every inventory host's declarations, else (False, why).

    ``job_slice``: what ``awx_job_slice`` found. A slice of a sliced AWX job template sees
    only its own hosts, in ``groups['all']`` too, so it must retire nothing.
    """
    if job_slice and job_slice.get('sliced'):
        return False, ('the run is one slice of the sliced AWX job template %r: it sees only its own hosts\' '
                       'declarations, so nothing is retired; run retire.yml (or renew.yml) from a job template '
                       'with Job Slicing set to 1 to retire' % (job_slice.get('job_template'),))
    if limit:
        return False, ('the run is limited (--limit %s): it does not see every host\'s declarations, so nothing is '
                       'retired; run without --limit to retire' % limit)
    missing = sorted(set(inventory_hosts or []) - set(play_hosts or []))
    if missing:
        shown = ', '.join(missing[:5]) + (' and %d more' % (len(missing) - 5) if len(missing) > 5 else '')
        return False, ('the play does not target every inventory host (not %s), so nothing is retired; target all '
                       'hosts (autotls_hosts: all) to retire' % shown)
    return True, ''


def retirement_plan(declared, manifests, stored):
    """The certificates to retire: ``[{'name', 'hosts': [...], 'in_store': bool}]`` by name.

    ``declared``: what ``declared_certificates`` gathered over the whole inventory.
    ``manifests``: ``{host: [names its manifest lists]}``. ``stored``: names in the store's ``certs/``.
    """
    wanted = set(entry['name'] for entry in declared or [])
    found = {}
    for host in sorted(manifests or {}):
        for name in manifests[host] or []:
            if is_valid_name(name) and name not in wanted:
                found.setdefault(name, {'name': name, 'hosts': [], 'in_store': False})['hosts'].append(host)
    for name in stored or []:
        if is_valid_name(name) and name not in wanted:
            found.setdefault(name, {'name': name, 'hosts': [], 'in_store': False})['in_store'] = True
    return [found[name] for name in sorted(found)]


def store_owner(recorded, owner):
    """Whose store copy it is, for retirement: ``'ours'``, ``'theirs'`` or ``'unrecorded'``.

    ``recorded``: the owner recorded with the certificate (``issuer.json``), None when none
    was; ``owner``: this inventory's ``autotls_store_owner``, None when it sets none. A copy
    recorded with another owner belongs to another inventory that shares the store: it is
    neither set aside nor revoked. One with no owner recorded is retired as before.
    """
    if not recorded:
        return 'unrecorded'
    return 'ours' if recorded == (owner or None) else 'theirs'


def _kept_on(host, result, name):
    """Why ``host`` still holds ``name`` after the take-off task (its registered result), or None."""
    if not isinstance(result, dict) or not result:
        return dict(host=host, reason='the host did not run the retirement')
    if result.get('unreachable'):
        return dict(host=host, reason='the host was unreachable')
    if result.get('failed'):
        return dict(host=host, reason='taking it off failed: %s' % (result.get('msg') or 'no message'))
    if result.get('skipped'):
        return dict(host=host, reason='the host did not run the retirement')
    for kept in result.get('kept') or []:
        if kept.get('name') == name:
            return dict(host=host, server=kept.get('server'), kind=kept.get('kind'),
                        reason="the check of server %s (kind %s) fails without its files, so everything was put "
                        'back' % (kept.get('server'), kept.get('kind')))
    return None


def _unread(result):
    """Why a host's manifest is not known (its registered read result), or None when it was read."""
    if not isinstance(result, dict) or not result or result.get('skipped'):
        return 'its manifest was not read (the host failed earlier in the run)'
    if result.get('unreachable'):
        return 'its manifest was not read (the host was unreachable)'
    if result.get('failed'):
        return 'its manifest could not be read: %s' % (result.get('msg') or 'no message')
    return None


def _left_on(host, result, name):
    """The files of ``name`` the take-off task left on ``host`` because they changed: [{host, path}]."""
    if not isinstance(result, dict):
        return []
    return [dict(host=host, path=left.get('path')) for left in result.get('left') or []
            if isinstance(left, dict) and left.get('name') == name]


def retirement_outcome(plan, results, manifests=None):
    """The plan with what happened on the hosts: each entry gets ``kept`` ([{host, reason,
    server, kind}]: the hosts that still hold it); its store copy is set aside (and revoked)
    only when it is kept nowhere. ``results``: {host: what the take-off task registered}.
    Each entry also gets ``left`` ([{host, path}]): files the hosts left in place because
    their content changed since the collection wrote them (they hold nothing of the store's).

    ``manifests``: {host: what the manifest read registered}, for every host of the play.
    A host whose manifest is not known may still serve any certificate: while there is one,
    no store copy is set aside or revoked (the hosts that were read are still cleaned).
    """
    unread = []
    for host in sorted(manifests or {}):
        why = _unread(manifests[host])
        if why:
            unread.append(dict(host=host, reason=why))
    done = []
    for entry in plan or []:
        kept = [why for why in (_kept_on(host, (results or {}).get(host), entry['name'])
                                for host in entry.get('hosts') or []) if why]
        if entry.get('in_store'):
            kept += [why for why in unread if why['host'] not in [k['host'] for k in kept]]
        left = [file for host in entry.get('hosts') or [] for file in _left_on(host, (results or {}).get(host),
                                                                               entry['name'])]
        done.append(dict(entry, kept=kept, left=left))
    return done


def retirement_report(plan, store_results=(), check_mode=False):
    """One line per retired certificate: the hosts it was taken off, where the store's copy went, the revocation."""
    by_name = {}
    for result in store_results or []:
        item = result.get('item') or {}
        if item.get('name'):
            by_name[item['name']] = result
    verb = 'would be' if check_mode else 'was'
    lines, theirs = [], {}
    for entry in plan or []:
        stored = by_name.get(entry['name'])
        if stored is not None and stored.get('not_ours') and not entry.get('hosts'):
            theirs.setdefault(stored.get('owner'), []).append(entry['name'])
            continue
        parts = []
        kept = entry.get('kept') or []
        taken = [host for host in entry.get('hosts') or [] if host not in [why['host'] for why in kept]]
        if taken:
            parts.append('%s taken off %s' % (verb, ', '.join(taken)))
        for why in kept:
            parts.append('kept on %s: %s' % (why['host'], why['reason']))
        for host in sorted(set(file['host'] for file in entry.get('left') or [])):
            parts.append('left on %s, changed since the collection wrote %s: %s' % (
                host, 'them' if len([f for f in entry['left'] if f['host'] == host]) > 1 else 'it',
                ', '.join(file['path'] for file in entry['left'] if file['host'] == host)))
        if kept and entry.get('in_store'):
            parts.append('the store\'s copy stays until it is off every host')
        if stored is not None:
            if stored.get('failed'):
                parts.append('the store\'s copy could not be set aside: %s' % stored.get('msg', 'no message'))
            elif stored.get('not_ours'):
                parts.append('the store\'s copy stays: it belongs to %s (its autotls_store_owner), another inventory '
                             'that shares the store' % stored.get('owner'))
            else:
                where = stored.get('set_aside_to') or 'the retired/ directory of the store'
                text = '%s set aside in %s' % (verb, where)
                check = stored.get('check') or {}
                if stored.get('revoked'):
                    text += ', serial %s revoked (cessationOfOperation%s)' % (
                        stored.get('serial', '?'), ', confirmed by the CA' if check.get('revoked') else '')
                if stored.get('unowned'):
                    text += (' (no owner was recorded with it, so it was taken as this inventory\'s: set '
                             'autotls_store_owner where inventories share a store)')
                parts.append(text)
        lines.append('%s: %s.' % (entry['name'], '; '.join(parts) if parts else 'nothing left to remove'))
    for owner in sorted(theirs):
        lines.append('%d certificate(s) of the store belong to %s (their autotls_store_owner), another inventory that '
                     'shares the store: left alone.' % (len(theirs[owner]), owner))
    return lines
