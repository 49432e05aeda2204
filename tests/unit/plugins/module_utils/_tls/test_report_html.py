# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""check.yml's HTML page: summary, timeline and table from the report rows (no browser here;
tests/integration/test_observe.py renders it in Chromium)."""

import datetime
import re

from ansible_collections.autotls.acme.plugins.module_utils._tls import report_html

NOW = datetime.datetime(2027, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)


def _row(certificate, host, status, colour, days, not_before='2027-01-01T00:00:00Z',
         not_after='2027-04-01T00:00:00Z', renew_at='2027-03-02T00:00:00Z', issuer='R11', source='live'):
    return dict(certificate=certificate, host=host, source=source, where='10.0.0.1:443', status=status, colour=colour,
                days=days, days_left='-' if days is None else '%.1f' % days, not_after=(not_after or '-'),
                not_after_at=not_after, not_before_at=not_before, renew_at=renew_at, issuer=issuer,
                serial='aa', domains=['%s.example.test' % certificate], chain_verified=True, detail='')


ROWS = [
    _row('app1', '(store)', 'ok', 'green', 30.5, source='store'),
    _row('app1', 'web1', 'due', 'orange', 3.0, not_after='2027-03-04T12:00:00Z'),
    _row('shop<script>', 'web2', 'unreachable', 'red', None, None, None, None, issuer='-'),
]
SUMMARY = dict(ok=1, due=1, unreachable=1, total=3)
STATUSES = ['missing', 'unreachable', 'expired', 'due', 'ok']


def _page(rows=None):
    return report_html.report_html(dict(rows=ROWS if rows is None else rows, statuses=STATUSES), SUMMARY, 14, now=NOW)


def test_the_page_is_self_contained_and_escapes_what_it_shows():
    page = _page()
    assert page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>')
    assert not re.search(r'\b(src|href)=', page), 'nothing may be loaded from elsewhere'
    assert 'shop<script>' not in page and 'shop&lt;script&gt;' in page
    assert "default-src 'none'" in page


def test_the_summary_counts_statuses_and_names_the_next_expiry_and_the_problems():
    page = _page()
    summary = page[page.index('<section id="summary">'):page.index('</section>')]
    assert '<li class="orange" data-status="due">due<strong>1</strong></li>' in summary
    assert '<li class="red" data-status="unreachable">unreachable<strong>1</strong></li>' in summary
    assert '<li class="" data-status="expired">expired<strong>0</strong></li>' in summary
    assert 'Next expiry: <strong>app1</strong> on web1' in summary
    assert '1 problem:' in summary and 'shop&lt;script&gt; on web2: unreachable' in summary
    assert '2 certificates on 2 hosts' in page


def test_the_timeline_has_a_bar_per_dated_row_the_window_and_today():
    svg = report_html.timeline_svg(ROWS, NOW)
    bars = re.findall(r'<g class="bar" data-row="(\d+)" data-status="(\w+)">', svg)
    assert bars == [('0', 'ok'), ('1', 'due')]        # the unreachable row has no dates
    assert svg.count('<rect class="life"') == 2 and svg.count('<rect class="window"') == 2
    life = [float(w) for w in re.findall(r'class="life" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)]
    window = [float(w) for w in re.findall(r'class="window" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)]
    assert life[1] < life[0] and all(w < l for w, l in zip(window, life))
    today = float(re.search(r'<line class="today" x1="([\d.]+)"', svg).group(1))
    starts = [float(x) for x in re.findall(r'class="window" x="([\d.]+)"', svg)]
    lifes = [float(x) for x in re.findall(r'class="life" x="([\d.]+)"', svg)]
    # Today (03-01 12:00) is inside both lifetimes, just before their windows (from 03-02).
    assert lifes[0] < today < starts[0] and starts[0] == starts[1]
    assert 'No certificate with known dates' in report_html.timeline_svg(ROWS[2:], NOW)


def test_the_table_has_a_row_per_result_with_filter_attributes_and_sort_values():
    page = _page()
    assert page.count('<tr class=') == 3
    assert '<tr class="orange" data-status="due" data-row="1" data-host="web1" data-issuer="R11">' in page
    assert '<td class="num" data-value="3.000">3.0</td>' in page
    assert '<option value="web2">web2</option>' in page and '<option value="due">due</option>' in page
    assert '<option value="missing">' not in page      # only statuses that occur
    empty = _page([])
    assert 'No certificate is declared' in empty and 'id="rows"' not in empty
