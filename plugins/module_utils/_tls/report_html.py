# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""check.yml's HTML report: one self-contained page, no external asset.

* a summary at the top: counts per status, certificates and hosts, the next expiry, the
  problems;
* a timeline of expiries, inline SVG: one bar per row from not-before to not-after, the
  renewal window (from ``renew_at``) shaded, today marked;
* the table, sortable by any column and filterable by status, host and issuer (and a free
  text), by a small inline script. The filters also follow the page's address
  (``report.html#status=due&host=web1``), so a link can open a filtered view. Without
  script the page shows everything.

Everything that comes from certificates or the inventory is escaped (``html.escape``)
before it reaches the page; the script reads its data from ``data-*`` attributes only.
"""

from __future__ import annotations

import datetime
import html

from ansible_collections.autotls.acme.plugins.module_utils._tls.cert_info import PROBLEM_STATUSES

_TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
# Timeline geometry (SVG user units).
_LABEL_WIDTH = 260
_PLOT_WIDTH = 760
_BAR_HEIGHT = 16
_ROW_HEIGHT = 24
_TOP = 28
_COLOURS = {'red': '#dc2626', 'orange': '#ea580c', 'yellow': '#ca8a04', 'green': '#16a34a'}

_STYLE = """
:root { --red: #fbd5d5; --red-ink: #9b1c1c; --orange: #fde2c4; --orange-ink: #8a4b08;
        --yellow: #fdf6b2; --yellow-ink: #723b13; --green: #def7ec; --green-ink: #03543f; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem; color: #1f2937; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.meta { color: #6b7280; margin: 0 0 1rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: 0 0 1rem; padding: 0; list-style: none; }
.cards li { padding: .5rem .8rem; border-radius: .5rem; background: #f3f4f6; min-width: 7rem; }
.cards li strong { display: block; font-size: 1.3rem; }
.cards li.red { background: var(--red); color: var(--red-ink); }
.cards li.orange { background: var(--orange); color: var(--orange-ink); }
.cards li.green { background: var(--green); color: var(--green-ink); }
.problems { color: var(--red-ink); }
svg.timeline { width: 100%; max-width: 1040px; height: auto; border: 1px solid #e5e7eb; border-radius: .5rem; }
svg.timeline text { font-size: 11px; fill: #374151; }
svg.timeline .axis { stroke: #d1d5db; }
svg.timeline .today { stroke: #111827; stroke-width: 2; }
svg.timeline .window { fill: #f59e0b; fill-opacity: .35; }
.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: 0 0 .8rem; }
.filters label { display: flex; flex-direction: column; font-size: .8rem; color: #4b5563; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f9fafb; position: sticky; top: 0; cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " \\25b2"; }
th[aria-sort=descending]::after { content: " \\25bc"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .8rem; }
tr.red { background: var(--red); } tr.red td.status { color: var(--red-ink); font-weight: 600; }
tr.orange { background: var(--orange); } tr.orange td.status { color: var(--orange-ink); font-weight: 600; }
tr.yellow { background: var(--yellow); } tr.yellow td.status { color: var(--yellow-ink); font-weight: 600; }
tr.green { background: var(--green); } tr.green td.status { color: var(--green-ink); }
.detail { color: #4b5563; font-size: .8rem; }
.legend span { display: inline-block; padding: 0 .5rem; margin-right: .4rem; border-radius: .25rem; }
.empty { padding: 1rem; color: #6b7280; }
[hidden] { display: none !important; }
"""

# Sorting and filtering; reads data-* attributes only, writes the filters to the address.
_SCRIPT = """
(function () {
  var table = document.getElementById('rows');
  if (!table) { document.body.setAttribute('data-ready', '1'); return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var bars = {};
  Array.prototype.forEach.call(document.querySelectorAll('svg.timeline g.bar'), function (g) {
    bars[g.getAttribute('data-row')] = g;
  });
  var selects = {status: document.getElementById('f-status'), host: document.getElementById('f-host'),
                 issuer: document.getElementById('f-issuer')};
  var search = document.getElementById('f-text');
  var shown = document.getElementById('shown');
  function apply() {
    var count = 0, text = search.value.toLowerCase();
    rows.forEach(function (row) {
      var ok = Object.keys(selects).every(function (key) {
        return !selects[key].value || row.getAttribute('data-' + key) === selects[key].value;
      }) && (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.hidden = !ok;
      var bar = bars[row.getAttribute('data-row')];
      if (bar) { bar.style.display = ok ? '' : 'none'; }
      if (ok) { count += 1; }
    });
    shown.textContent = count + ' of ' + rows.length + ' rows shown';
    var parts = [];
    Object.keys(selects).forEach(function (key) {
      if (selects[key].value) { parts.push(key + '=' + encodeURIComponent(selects[key].value)); }
    });
    if (text) { parts.push('q=' + encodeURIComponent(search.value)); }
    var hash = parts.length ? '#' + parts.join('&') : '';
    if (location.hash !== hash && history.replaceState) { history.replaceState(null, '', hash || location.pathname); }
  }
  function fromAddress() {
    location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      var pair = part.split('='), key = pair[0], value = decodeURIComponent(pair.slice(1).join('=') || '');
      if (selects[key]) { selects[key].value = value; } else if (key === 'q') { search.value = value; }
    });
  }
  function sortBy(th) {
    var index = th.cellIndex, key = th.getAttribute('data-sort');
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(th.parentNode.cells, function (cell) { cell.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute('data-value'), y = b.cells[index].getAttribute('data-value');
      var result = key === 'number' ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
      return ascending ? result : -result;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.addEventListener('click', function () { sortBy(th); });
  });
  Object.keys(selects).forEach(function (key) { selects[key].addEventListener('change', apply); });
  search.addEventListener('input', apply);
  window.addEventListener('hashchange', function () { fromAddress(); apply(); });
  fromAddress();
  apply();
  document.body.setAttribute('data-ready', '1');
}());
"""

# Table columns: (title, row key for the value to sort on, number?).
_COLUMNS = (('Certificate', 'certificate', False), ('Host', 'host', False), ('Source', 'source', False),
            ('Days left', 'days', True), ('Not after', 'not_after', False), ('Issuer', 'issuer', False),
            ('Status', 'status', False), ('Names', 'names', False), ('Serial', 'serial', False))


def _esc(value):
    return html.escape('' if value is None else str(value), quote=True)


def _parse(value):
    if not value:
        return None
    try:
        return datetime.datetime.strptime(str(value), _TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def _tone(status):
    if status in PROBLEM_STATUSES:
        return 'red'
    return 'orange' if status == 'due' else 'green'


def summary_facts(rows, summary, statuses):
    """What the top of the page says: cards per status, counts, the next expiry, the problems."""
    summary = summary or {}
    certificates = sorted(set(row['certificate'] for row in rows))
    hosts = sorted(set(row['host'] for row in rows if row['source'] == 'live'))
    dated = [row for row in rows if row.get('days') is not None]
    first = min(dated, key=lambda row: row['days']) if dated else None
    cards = [(status, summary.get(status, 0), _tone(status) if summary.get(status) else '') for status in statuses
             if summary.get(status) or status in ('ok', 'due', 'expired')]
    problems = ['%s on %s: %s%s' % (row['certificate'], row['host'], row['status'].replace('_', ' '),
                                    (' - ' + row['detail']) if row.get('detail') else '')
                for row in rows if row['status'] in PROBLEM_STATUSES]
    return dict(certificates=len(certificates), hosts=len(hosts), total=summary.get('total', len(rows)),
                cards=cards, first=first, problems=problems)


def timeline_svg(rows, now):
    """The inline SVG timeline: a bar per dated row, the renewal window shaded, today marked."""
    dated = [(index, row, _parse(row.get('not_before_at')), _parse(row.get('not_after_at')),
              _parse(row.get('renew_at'))) for index, row in enumerate(rows)]
    dated = [item for item in dated if item[2] and item[3] and item[3] > item[2]]
    if not dated:
        return '<p class="empty" id="timeline">No certificate with known dates to show on a timeline.</p>'
    start = min([item[2] for item in dated] + [now])
    end = max([item[3] for item in dated] + [now + datetime.timedelta(days=1)])
    span = (end - start).total_seconds()

    def x(moment):
        return _LABEL_WIDTH + _PLOT_WIDTH * max(0.0, min(1.0, (moment - start).total_seconds() / span))

    height = _TOP + _ROW_HEIGHT * len(dated) + 8
    width = _LABEL_WIDTH + _PLOT_WIDTH + 20
    parts = ['<svg class="timeline" id="timeline" role="img" xmlns="http://www.w3.org/2000/svg" '
             'viewBox="0 0 %d %d" aria-label="Certificate validity from not-before to not-after; the renewal '
             'window shaded; today marked">' % (width, height)]
    # Axis: ticks at about six evenly spaced dates.
    parts.append('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (
        _LABEL_WIDTH, _TOP - 6, _LABEL_WIDTH + _PLOT_WIDTH, _TOP - 6))
    for step in range(7):
        moment = start + datetime.timedelta(seconds=span * step / 6.0)
        anchor = 'end' if step == 6 else ('start' if step == 0 else 'middle')
        label = moment.strftime('%Y-%m-%d' if span > 2 * 86400 else '%m-%d %H:%M')
        parts.append('<text x="%.1f" y="%d" text-anchor="%s">%s</text>' % (x(moment), _TOP - 12, anchor, label))
    for position, (index, row, not_before, not_after, renew_at) in enumerate(dated):
        y = _TOP + position * _ROW_HEIGHT
        label = '%s @ %s' % (row['certificate'], row['host'])
        title = '%s: %s to %s%s' % (label, not_before.strftime('%Y-%m-%d %H:%M UTC'),
                                    not_after.strftime('%Y-%m-%d %H:%M UTC'),
                                    '; renewal from %s' % renew_at.strftime('%Y-%m-%d %H:%M UTC') if renew_at else '')
        parts.append('<g class="bar" data-row="%d" data-status="%s"><title>%s</title>' % (
            index, _esc(row['status']), _esc(title)))
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (
            _LABEL_WIDTH - 8, y + _BAR_HEIGHT - 4, _esc(label if len(label) <= 40 else label[:39] + u'\u2026')))
        parts.append('<rect class="life" x="%.1f" y="%d" width="%.1f" height="%d" rx="3" fill="%s"/>' % (
            x(not_before), y, max(1.0, x(not_after) - x(not_before)), _BAR_HEIGHT,
            _COLOURS.get(row.get('colour'), '#6b7280')))
        if renew_at and not_before < renew_at < not_after:
            parts.append('<rect class="window" x="%.1f" y="%d" width="%.1f" height="%d"/>' % (
                x(renew_at), y, max(1.0, x(not_after) - x(renew_at)), _BAR_HEIGHT))
        parts.append('</g>')
    parts.append('<line class="today" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>Now: %s</title></line>' % (
        x(now), _TOP - 8, x(now), height - 4, now.strftime('%Y-%m-%d %H:%M UTC')))
    parts.append('<text x="%.1f" y="%d" text-anchor="start">today</text>' % (x(now) + 3, height - 6))
    parts.append('</svg>')
    return '\n'.join(parts)


def _options(element_id, label, values):
    options = ['<option value="">all</option>'] + ['<option value="%s">%s</option>' % (_esc(v), _esc(v))
                                                   for v in values]
    return '<label>%s<select id="%s">%s</select></label>' % (label, element_id, ''.join(options))


def _cell(row, key):
    if key == 'names':
        return ', '.join(row.get('domains') or [])
    return row.get(key)


def _table(rows):
    head = ''.join('<th data-sort="%s">%s</th>' % ('number' if number else 'text', title)
                   for title, _key, number in _COLUMNS)
    lines = ['<table id="rows">', '<thead><tr>%s</tr></thead>' % head, '<tbody>']
    for index, row in enumerate(rows):
        lines.append('<tr class="%s" data-status="%s" data-row="%d" data-host="%s" data-issuer="%s">' % (
            _esc(row.get('colour')), _esc(row['status']), index, _esc(row['host']), _esc(row.get('issuer'))))
        days = row.get('days')
        lines.append('  <td data-value="%s">%s</td>' % (_esc(row['certificate']), _esc(row['certificate'])))
        lines.append('  <td data-value="%s">%s<div class="detail">%s</div></td>' % (
            _esc(row['host']), _esc(row['host']), _esc(row.get('where'))))
        lines.append('  <td data-value="%s">%s</td>' % (_esc(row['source']), _esc(row['source'])))
        lines.append('  <td class="num" data-value="%s">%s</td>'
                     % ('' if days is None else '%.3f' % days, _esc(row.get('days_left'))))
        lines.append('  <td class="num" data-value="%s">%s</td>'
                     % (_esc(row.get('not_after_at') or ''), _esc(row.get('not_after'))))
        lines.append('  <td data-value="%s">%s%s</td>' % (
            _esc(row.get('issuer')), _esc(row.get('issuer')),
            '<div class="detail">chain verified</div>' if row.get('chain_verified') is True else ''))
        lines.append('  <td class="status" data-value="%s">%s%s</td>' % (
            _esc(row['status']), _esc(row['status'].replace('_', ' ')),
            '<div class="detail">%s</div>' % _esc(row['detail']) if row.get('detail') else ''))
        names = _cell(row, 'names')
        lines.append('  <td data-value="%s">%s</td>' % (_esc(names), _esc(names)))
        lines.append('  <td class="mono" data-value="%s">%s</td>' % (_esc(row.get('serial')), _esc(row.get('serial'))))
        lines.append('</tr>')
    lines += ['</tbody>', '</table>']
    return '\n'.join(lines)


def report_html(report, summary, warn_days=14, now=None, title='Certificate expiry report'):
    """The whole page for check_report's ``report`` (rows, statuses) and cert_info's ``summary``."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    rows = list(report.get('rows') or [])
    statuses = list(report.get('statuses') or [])
    facts = summary_facts(rows, summary, statuses)
    generated = now.strftime('%Y-%m-%d %H:%M:%S UTC')
    out = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           # Nothing is loaded from anywhere: inline style and script only.
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:">',
           '<title>%s - %s</title>' % (_esc(title), _esc(generated)), '<style>%s</style>' % _STYLE, '</head>',
           '<body>', '<h1>%s</h1>' % _esc(title),
           '<p class="meta">Generated at %s &middot; %d certificate%s on %d host%s &middot; %s rows checked '
           '(stored files and live endpoints)</p>' % (
               _esc(generated), facts['certificates'], '' if facts['certificates'] == 1 else 's',
               facts['hosts'], '' if facts['hosts'] == 1 else 's', _esc(facts['total']))]
    out.append('<section id="summary"><ul class="cards">')
    for status, count, tone in facts['cards']:
        out.append('<li class="%s" data-status="%s">%s<strong>%s</strong></li>' % (
            tone, _esc(status), _esc(status.replace('_', ' ')), _esc(count)))
    out.append('</ul>')
    first = facts['first']
    if first is not None:
        out.append('<p id="next-expiry">Next expiry: <strong>%s</strong> on %s, %s (%s days left).</p>' % (
            _esc(first['certificate']), _esc(first['host']), _esc(first['not_after']), _esc(first['days_left'])))
    if facts['problems']:
        out.append('<p class="problems">%d problem%s:</p><ul class="problems">%s</ul>' % (
            len(facts['problems']), '' if len(facts['problems']) == 1 else 's',
            ''.join('<li>%s</li>' % _esc(problem) for problem in facts['problems'])))
    schedule = report.get('schedule') or []
    if schedule:
        out.append('<p>Lifetime shorter than the run interval allows:</p><ul class="advice">%s</ul>' % ''.join(
            '<li><strong>%s</strong>: %s</li>' % (_esc(item.get('certificate')), _esc(item.get('advice')))
            for item in schedule))
    out.append('</section>')
    out.append('<h2>Timeline</h2>')
    out.append(timeline_svg(rows, now))
    out.append('<p class="legend"><span style="background: var(--red)">expired, unreachable, missing, name '
               'mismatch, untrusted chain</span><span style="background: var(--orange)">due for renewal</span>'
               '<span style="background: var(--yellow)">fewer than %d days left</span><span style="background: '
               'var(--green)">ok</span><span style="background: #fcd9a0">renewal window</span></p>'
               % int(round(float(warn_days))))
    out.append('<h2>Certificates</h2>')
    if not rows:
        out.append('<p class="empty">No certificate is declared by the targeted hosts.</p>')
    else:
        out.append('<div class="filters">%s%s%s<label>Search<input id="f-text" type="search"></label>'
                   '<span id="shown">%d rows</span></div>' % (
                       _options('f-status', 'Status', [s for s in statuses if any(r['status'] == s for r in rows)]),
                       _options('f-host', 'Host', sorted(set(row['host'] for row in rows))),
                       _options('f-issuer', 'Issuer', sorted(set(str(row.get('issuer')) for row in rows))),
                       len(rows)))
        out.append(_table(rows))
    out.append('<script>%s</script>' % _SCRIPT)
    out += ['</body>', '</html>']
    return '\n'.join(out) + '\n'
