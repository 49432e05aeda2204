# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What check.yml and the drift repair look at, and how they report it.

* :func:`check_targets`: for every declared certificate, its file in the store (with its
  private key) and each host that serves it, as a live endpoint.
* :func:`check_report`: the rows of the expiry report (with their colour), the text table
  the job output shows, and the problems check.yml fails on.
* :func:`drift_targets` and :func:`drifted`: the endpoints to look at after a renewal, and
  the hosts that still serve another certificate than the store's.
* :func:`stored_certificates`: the declared certificates with their serial in the store,
  what drift_targets takes where nothing was issued (deploy.yml).
"""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import file_path
from ansible_collections.autotls.acme.plugins.module_utils._model.servers import validate_servers
from ansible_collections.autotls.acme.plugins.module_utils._tls.cert_info import (
    PROBLEM_STATUSES,
    STATUSES,
    WILDCARD_PROBE_LABEL,
)

STORE_HOST = '(store)'
DEFAULT_TLS_PORT = 443
COLUMNS = (('certificate', 'CERTIFICATE'), ('host', 'HOST'), ('source', 'SOURCE'), ('days_left', 'DAYS LEFT'),
           ('not_after', 'NOT AFTER'), ('issuer', 'ISSUER'), ('status', 'STATUS'))


def server_name_for(domains):
    """The SNI name to ask a host for: the first plain domain, else a name the wildcard covers."""
    domains = [str(d) for d in domains or []]
    if not domains:
        raise ConfigurationError('A certificate without domains cannot be checked')
    plain = [d for d in domains if not d.startswith('*')]
    return plain[0] if plain else WILDCARD_PROBE_LABEL + domains[0][1:]


def _endpoint(hostvars, host, server_name, label):
    variables = hostvars[host]
    address = variables.get('ansible_host') or host
    port = variables.get('autotls_tls_port') or DEFAULT_TLS_PORT
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ConfigurationError('autotls_tls_port of host %s must be a port number, got %r' % (host, port))
    return dict(host=str(address), port=port, server_name=server_name, name=label)


def _servers_of(variables):
    """The host's servers (its cert_deploy fact when the role ran, else its autotls_servers, checked)."""
    servers = variables.get('__cert_deploy_servers')
    if isinstance(servers, list) and all(isinstance(s, dict) and 'kind' in s for s in servers):
        return servers
    return validate_servers(variables.get('autotls_servers'))


def _server_endpoints(hostvars, host, server_name, name):
    """[(server, endpoint)]: where each of the host's servers serves TLS (servers without a port are left out).

    nginx's port is the host's autotls_tls_port when it sets one. A host with one such
    server keeps the plain label ``<name>@<host>``; with more, each is ``<name>@<host> (<server>)``.
    """
    variables = hostvars[host]
    found = []
    for server in _servers_of(variables):
        if server.get('port') is None:
            continue
        port = variables.get('autotls_tls_port') if server['kind'] == 'nginx' else None
        found.append((server, port or server['port']))
    endpoints = []
    for server, port in found:
        label = '%s@%s' % (name, host) + (' (%s)' % server['name'] if len(found) > 1 else '')
        endpoint = _endpoint(dict(hostvars, **{host: dict(variables, autotls_tls_port=port)}), host, server_name,
                             label)
        endpoints.append((server, endpoint))
    return endpoints


def served_endpoints(certificates, hostvars):
    """Walk where each certificate is served: ``(cert, host, server, endpoint, several)`` for each of its
    ``hosts`` and each TLS server of that host, in order (``several``: the host has more than one such server).

    The one walk of check.yml's live targets and the drift repair's endpoints.
    """
    for cert in certificates or []:
        sni = server_name_for(cert.get('domains'))
        for host in cert.get('hosts') or []:
            served = _server_endpoints(hostvars, host, sni, cert['name'])
            for server, endpoint in served:
                yield cert, host, server, endpoint, len(served) > 1


def _paired(what, results, items, items_name, source):
    """``zip(results, items)`` when they are as many (cert_info's results for exactly these items), else refused."""
    results, items = list(results or []), list(items or [])
    if len(results) != len(items):
        raise ConfigurationError('%s: %d results for %d %s; pass cert_info\'s results for exactly %s, in that order'
                                 % (what, len(results), len(items), items_name, source))
    return list(zip(results, items))


def check_targets(declared, hostvars, store_path):
    """One target per stored certificate (first, in declaration order), then one per host serving it.

    Each target: ``certificate``, ``host``, ``source`` (``store`` or ``live``), ``where``
    (for the report) and either ``path``/``key_path`` or ``endpoint`` (cert_info's form).
    """
    files, endpoints = [], []
    store_path = str(store_path).rstrip('/')
    declared = list(declared or [])
    for cert in declared:
        directory = '%s/certs/%s' % (store_path, cert['name'])
        path = file_path(directory, 'fullchain')
        files.append(dict(certificate=cert['name'], host=STORE_HOST, source='store', where=path, path=path,
                          key_path=file_path(directory, 'key')))
    for cert, host, server, endpoint, several in served_endpoints(declared, hostvars):
        where = '%s:%d (SNI %s%s)' % (endpoint['host'], endpoint['port'], endpoint['server_name'],
                                      ', %s' % server['name'] if several else '')
        endpoints.append(dict(certificate=cert['name'], host=host, source='live', where=where, endpoint=endpoint,
                              server=server['name'], kind=server['kind']))
    return files + endpoints


def _colour(result, warn_days):
    if result.get('status') in PROBLEM_STATUSES:
        return 'red'
    if result.get('status') == 'due':
        return 'orange'
    if result.get('days_left') is not None and result['days_left'] < warn_days:
        return 'yellow'
    return 'green'


def _detail(result):
    status = result.get('status')
    if status == 'name_mismatch':
        return 'serves %s, not %s' % (', '.join(result.get('domains') or []), result.get('server_name'))
    if status in ('chain_invalid', 'unverified'):
        return result.get('chain_error') or ''
    if status == 'key_mismatch':
        return result.get('key_error') or ''
    return result.get('error') or result.get('due_reason') or ''


def check_rows(results, targets, warn_days=14):
    """The report's rows, one per result (results and targets in the same order), by certificate."""
    rows = []
    for result, target in _paired('check_report', results, targets, 'targets', 'the targets check_targets returned'):
        days = result.get('days_left')
        rows.append(dict(
            certificate=target['certificate'], host=target['host'], source=target['source'], where=target['where'],
            status=result.get('status'), colour=_colour(result, float(warn_days)),
            days_left='%.1f' % days if days is not None else '-',
            not_after=(result.get('not_after') or '-').replace('T', ' ').replace('Z', ' UTC'),
            issuer=result.get('issuer') or '-', serial=result.get('serial') or '-',
            domains=result.get('domains') or [], chain_verified=result.get('chain_verified'),
            detail=_detail(result), schedule=(result.get('schedule') or {}).get('advice'),
            # For the timeline: the raw times (YYYY-MM-DDTHH:MM:SSZ) and the number of days left.
            not_before_at=result.get('not_before'), not_after_at=result.get('not_after'),
            renew_at=result.get('renew_at'), days=days))
    return sorted(rows, key=lambda row: row['certificate'])


def _table(rows):
    widths = [max([len(title)] + [len(str(row[key])) for row in rows]) for key, title in COLUMNS]

    def line(cells):
        return '  '.join('%-*s' % (width, cell) for width, cell in zip(widths, cells)).rstrip()

    return [line([title for _key, title in COLUMNS])] + [line([str(row[key]) for key, _title in COLUMNS])
                                                         for row in rows]


def check_report(results, targets, summary, warn_days=14, report_path=None):
    """``rows``, ``lines`` (table, schedule advice, then the counts), ``problems`` (what check.yml fails on),
    ``statuses`` and ``schedule`` (certificates whose lifetime the run interval does not fit, with advice)."""
    rows = check_rows(results, targets, warn_days)
    summary = summary or {}
    counts = ['%s: %s' % (status, summary[status]) for status in STATUSES if summary.get(status)]
    last = '%s checked' % summary.get('total', len(rows))
    if counts:
        last += ' - ' + ', '.join(counts)
    if report_path:
        last += '; report: %s' % report_path
    problems = ['%s on %s (%s): %s%s' % (row['certificate'], row['host'], row['where'], row['status'],
                                         (' - ' + row['detail']) if row['detail'] else '')
                for row in rows if row['status'] in PROBLEM_STATUSES]
    # A lifetime the run interval does not fit: once per certificate (the store's copy, else a host's).
    schedule = []
    for row in sorted(rows, key=lambda r: r['source'] != 'store'):
        if row['schedule'] and row['certificate'] not in [item['certificate'] for item in schedule]:
            schedule.append(dict(certificate=row['certificate'], advice=row['schedule']))
    lines = _table(rows)
    if schedule:
        lines += ['Lifetime shorter than the run interval allows:'] + [
            '  - %s: %s' % (item['certificate'], item['advice']) for item in schedule]
    return dict(rows=rows, lines=lines + [last], problems=problems, statuses=list(STATUSES), schedule=schedule)


def stored_certificates(declared, stored):
    """The declared certificates the store holds, each with the serial of its stored file.

    ``declared``: the certificates (``name``, ``domains``, ``hosts``) as
    declared_certificates returns them; ``stored``: cert_info's results for their
    ``cert.pem`` in the store, in the same order. Certificates whose file is missing or
    unreadable are left out (no serial to compare a host with). The result is what
    :func:`drift_targets` takes.
    """
    found = []
    for result, cert in _paired('stored_certificates', stored, declared, 'certificates',
                                'the declared certificates\' files'):
        if result.get('serial'):
            found.append(dict(name=cert['name'], domains=list(cert.get('domains') or []),
                              hosts=list(cert.get('hosts') or []), serial=result['serial']))
    return found


def drift_targets(results, hostvars):
    """After a renewal: the endpoints to look at, and what each should serve.

    ``results``: the certificate results (``autotls_issue_results``); only those that
    did not fail and have a serial are looked at, on each of their ``hosts``. Returns
    ``{'endpoints': [...], 'expected': [...]}`` in the same order, one per server of the
    host that serves TLS; ``expected`` items have ``host`` (inventory name), ``certificate``,
    ``serial``, ``server`` and ``kind``.
    """
    endpoints, expected = [], []
    issued = [cert for cert in results or [] if not cert.get('failed') and cert.get('serial')]
    for cert, host, server, endpoint, _several in served_endpoints(issued, hostvars):
        endpoints.append(endpoint)
        expected.append(dict(host=host, certificate=cert['name'], serial=cert['serial'],
                             server=server['name'], kind=server['kind']))
    return dict(endpoints=endpoints, expected=expected)


def drifted(served, expected, host=None):
    """The (host's) certificates served with another serial than the store's.

    ``served``: cert_info's results for ``drift_targets``' endpoints, in that order.
    Unreachable endpoints are left out (nothing to reload there). Items: ``host``,
    ``certificate``, ``served_serial``, ``stored_serial``, ``server`` and ``kind`` (what to reload).
    """
    found = []
    for result, want in _paired('drifted', served, expected, 'endpoints', 'the endpoints drift_targets returned'):
        if host is not None and want['host'] != host:
            continue
        if not result.get('reachable') or not result.get('serial'):
            continue
        if str(result['serial']).lower() != str(want['serial']).lower():
            found.append(dict(host=want['host'], certificate=want['certificate'],
                              served_serial=result['serial'], stored_serial=want['serial'],
                              server=want.get('server', 'nginx'), kind=want.get('kind', 'nginx')))
    return found


def served_certificates(results, targets, host):
    """What ``host`` serves, one item per certificate and endpoint, for its metrics file.

    ``results`` and ``targets`` as for :func:`check_report` (cert_info's results for
    check_targets' targets, in that order). Items: ``certificate``, ``server_name``,
    ``port``, ``reachable``, ``serial``, ``issuer``, ``not_before``, ``not_after``,
    ``renew_at`` and ``store_serial`` (the serial of the store's file; empty when the
    store has none), as the metrics_textfile module takes them.
    """
    pairs = _paired('served_certificates', results, targets, 'targets', 'the targets check_targets returned')
    stored = {}
    for result, target in pairs:
        if target['source'] == 'store' and result.get('serial'):
            stored[target['certificate']] = result['serial']
    served = []
    for result, target in pairs:
        if target['source'] != 'live' or target['host'] != host:
            continue
        endpoint = target['endpoint']
        reachable = bool(result.get('reachable')) and bool(result.get('serial'))
        item = dict(certificate=target['certificate'], server_name=endpoint['server_name'], port=endpoint['port'],
                    reachable=reachable, store_serial=stored.get(target['certificate'], ''))
        if reachable:
            item.update((key, result.get(key)) for key in ('serial', 'issuer', 'not_before', 'not_after', 'renew_at'))
        served.append(item)
    return served


def check_notice(report):
    """What the notify module needs to send check.yml's summary: ``results`` (one per stored
    certificate: failed when its status is a problem, else with its expiry, so that the
    summary lists what expires soon) and ``hosts`` (one per host that serves a certificate
    with a problem)."""
    results, hosts = [], {}
    for row in (report or {}).get('rows') or []:
        problem = row['status'] in PROBLEM_STATUSES
        reason = row['status'].replace('_', ' ') + ((' - ' + row['detail']) if row.get('detail') else '')
        if row['source'] == 'store':
            result = dict(name=row['certificate'], action='none', changed=False, failed=problem,
                          not_after=row.get('not_after_at'), days_left=row.get('days'))
            if problem:
                result['msg'] = 'in the store: %s' % reason
            results.append(result)
        elif problem:
            entry = hosts.setdefault(row['host'], dict(host=row['host'], status='failed', msgs=[], certificates=[]))
            entry['certificates'].append(row['certificate'])
            entry['msgs'].append('%s: %s' % (row['certificate'], reason))
    problems = [dict(host=entry['host'], status='failed', msg='; '.join(entry['msgs']),
                     certificates=entry['certificates']) for entry in hosts.values()]
    return dict(results=results, hosts=problems)
