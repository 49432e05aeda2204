# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: check_report_html
short_description: check.yml's HTML report - summary, timeline of expiries, sortable and filterable table
version_added: 0.1.0
description:
  - Renders the page C(check.yml) writes - a summary at the top (counts per status, the next expiry, the problems),
    an inline SVG timeline (one bar per row from not-before to not-after, the renewal window shaded, today marked)
    and the table, sortable by any column and filterable by status, host and issuer. One self-contained file - no
    external style sheet, font, image or script - that opens from a file share, a mail or an S3 link as it is.
  - The filters follow the page's address, so C(report.html#status=due&host=web1) opens a filtered view.
options:
  _input:
    description: What C(autotls.acme.check_report) returned.
    type: dict
    required: true
  summary:
    description: M(autotls.acme.cert_info)'s C(summary).
    type: dict
    required: true
  warn_days:
    description: Rows with fewer days left than this are yellow (named in the legend).
    type: float
    default: 14
author:
  - autotls.acme maintainers (@autotls)
'''

EXAMPLES = r'''
- name: Write the HTML report
  ansible.builtin.copy:
    content: "{{ report | autotls.acme.check_report_html(info.summary, 14) }}"
    dest: /srv/autotls/report.html
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The HTML page.
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._tls.report_html import report_html


def check_report_html(report, summary, warn_days=14):
    try:
        return report_html(report, summary, float(warn_days))
    except (AutoTLSError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('check_report_html: %s' % exc)


class FilterModule:
    def filters(self):
        return {'check_report_html': check_report_html}
