# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""check.yml's summary: its findings as the notify module sums them up, with the report link."""

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._notify.notify import RunSummary
from ansible_collections.autotls.acme.plugins.module_utils._store.publish import check_expires
from ansible_collections.autotls.acme.plugins.module_utils._tls.check_report import check_notice

LINK = 'https://bucket.s3.amazonaws.com/prod/report/check-1.html?X-Amz-Signature=ab&X-Amz-Expires=604800'


def _row(certificate, host, source, status, days, detail=''):
    return dict(certificate=certificate, host=host, source=source, status=status, days=days, detail=detail,
                not_after_at='2027-04-01T00:00:00Z')


ROWS = [_row('app1', '(store)', 'store', 'ok', 40.0), _row('app1', 'web1', 'live', 'unreachable', None, 'refused'),
        _row('app1', 'web2', 'live', 'ok', 40.0), _row('shop', '(store)', 'store', 'ok', 5.0),
        _row('old', '(store)', 'store', 'expired', -1.0), _row('old', 'web1', 'live', 'expired', -1.0)]


def test_findings_become_certificates_and_hosts_of_the_summary():
    notice = check_notice(dict(rows=ROWS))
    assert [(r['name'], r['failed']) for r in notice['results']] == [('app1', False), ('shop', False), ('old', True)]
    assert notice['results'][2]['msg'] == 'in the store: expired'
    assert notice['hosts'] == [dict(host='web1', status='failed', msg='app1: unreachable - refused; old: expired',
                                    certificates=['app1', 'old'])]
    summary = RunSummary(notice['results'], hosts=notice['hosts'], title='autotls check', report_url=LINK)
    text = summary.text()
    assert 'Expiring soon:\n  - shop:' in text and '  - old: in the store: expired' in text
    assert '  - web1: failed (app1, old): app1: unreachable - refused; old: expired' in text
    assert text.rstrip().endswith('Report: ' + LINK)
    assert '<a href="%s">Open the report</a>' % LINK.replace('&', '&amp;') in summary.html()
    blocks = summary.slack_payload()['blocks']
    assert blocks[-1]['text']['text'] == '<%s|Open the report>' % LINK.replace('&', '&amp;')


def test_a_quiet_check_still_links_its_report():
    summary = RunSummary(check_notice(dict(rows=ROWS[:1]))['results'], title='autotls check', report_url=LINK)
    assert summary.nothing_to_do and summary.text().rstrip().endswith('Report: ' + LINK)


@pytest.mark.parametrize('url', ['ftp://x/report.html', 'https://x/a b', 'https://x/a|b', 'javascript:alert(1)'])
def test_report_links_that_are_not_plain_http_urls_are_refused(url):
    with pytest.raises(ConfigurationError, match='report_url'):
        RunSummary([], report_url=url)


def test_link_lifetimes_stay_within_what_s3_allows():
    assert check_expires(604800) == 604800 and check_expires('3600') == 3600
    for bad in (59, 604801, 'week', None):
        with pytest.raises(ConfigurationError, match='expires'):
            check_expires(bad)
