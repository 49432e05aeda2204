# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.ca_roots refuses a timeout that is not a positive number of seconds, by name.

Run as a direct user would, in a playbook on localhost; the URL points nowhere, so a
check that came too late would show as a connection error instead.
"""

import pytest


@pytest.mark.parametrize('timeout', [0, -5])
def test_timeout_out_of_range_is_refused_by_name(run_playbook, tmp_path, timeout):
    args = dict(url='https://127.0.0.1:9', fingerprint='a' * 64, dest=str(tmp_path / 'root.pem'), timeout=timeout)
    book = [{'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'name': 'bootstrap', 'autotls.acme.ca_roots': args}]}]
    result = run_playbook(book, expect_rc=2)
    assert 'timeout must be at least 1 seconds, got %d' % timeout in result.task('bootstrap')['result']['msg']
    assert not (tmp_path / 'root.pem').exists()
