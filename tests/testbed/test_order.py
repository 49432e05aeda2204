# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The suite's longest-first order (order.py) and its table (tests/durations.json)."""

import json

from testbed.order import DURATIONS_FILE, load_durations, longest_files_first, store_durations


def test_longest_first_ties_in_collection_order_unknown_long_kinds_early():
    durations = {'tests/unit/test_a.py': 5.0, 'tests/integration/test_b.py': 100.0,
                 'tests/integration/test_c.py': 30.0, 'tests/unit/test_d.py': 5.0}
    collected = ['tests/unit/test_d.py', 'tests/unit/test_d.py', 'tests/unit/test_new.py',
                 'tests/integration/test_c.py', 'tests/unit/test_a.py', 'tests/integration/test_new.py',
                 'tests/integration/test_b.py']
    assert longest_files_first(collected, durations) == [
        'tests/integration/test_b.py', 'tests/integration/test_new.py', 'tests/integration/test_c.py',
        'tests/unit/test_d.py', 'tests/unit/test_a.py', 'tests/unit/test_new.py']


def test_store_merges_rounds_and_drops_files_that_are_gone(tmp_path):
    (tmp_path / 'tests').mkdir()
    for name in ('test_kept.py', 'test_run.py'):
        (tmp_path / 'tests' / name).write_text('')
    table = tmp_path / 'durations.json'
    table.write_text(json.dumps({'files': {'tests/test_kept.py': 7.0, 'tests/test_gone.py': 9.0,
                                           'tests/test_run.py': 1.0}}))
    stored = store_durations({'tests/test_run.py': 12.345}, repo_root=str(tmp_path), path=str(table))
    assert list(stored.items()) == [('tests/test_run.py', 12.3), ('tests/test_kept.py', 7.0)]
    assert load_durations(str(table)) == stored


def test_the_table_is_read_and_orders_the_suite():
    durations = load_durations()
    assert durations and all(seconds >= 0 for seconds in durations.values()), DURATIONS_FILE
    # The longest file of the table is among the first of the suite (a file renamed since is
    # simply not in the table yet).
    longest = max(durations, key=durations.get)
    assert longest_files_first(['tests/unit/test_licence.py', longest], durations)[0] == longest
