# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-suite wiring: makes the repository importable and runnable as autotls.acme.

The repository root is the collection root. A link to the checkout as
``ansible_collections/autotls/acme`` (testbed/collection.py) is added to ``sys.path``
(unit tests import module_utils) and exported as ``ANSIBLE_COLLECTIONS_PATH``
(integration tests run ``ansible-playbook``).
"""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests'))

from testbed.collection import link_collection  # noqa: E402
from testbed.order import load_durations, longest_files_first, store_durations  # noqa: E402

COLLECTIONS_ROOT = link_collection(REPO_ROOT)
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
os.environ['ANSIBLE_COLLECTIONS_PATH'] = COLLECTIONS_ROOT

pytest_plugins = ['testbed.fixtures', 'testbed.fixtures_stepca', 'testbed.fixtures_hosts']

# Lines a test wants in the run's summary (record_property('summary_line', ...)), e.g.
# which package versions the declared-minimums test used. Collected from the reports, so
# it works with xdist workers too.
_SUMMARY_LINES = []
# Seconds per test file (setup, call and teardown of its tests), for --store-durations.
_FILE_SECONDS = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split('::', 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration
    if report.when == 'call':
        _SUMMARY_LINES.extend(value for name, value in report.user_properties if name == 'summary_line')


def pytest_terminal_summary(terminalreporter):
    if _SUMMARY_LINES:
        terminalreporter.section('recorded by the tests')
        for line in _SUMMARY_LINES:
            terminalreporter.write_line(line)


# ---- order: the longest test files first (testbed/order.py) -------------------------------
# A file's tests stay in their order, one after the other: module fixtures are set up once
# per worker, not once per test.

def pytest_addoption(parser):
    parser.addoption('--store-durations', action='store_true', default=False,
                     help='write how long each test file took to tests/durations.json (files that '
                          'did not run keep their figure), for the longest-first order of the suite')


def pytest_collection_modifyitems(config, items):
    def path_of(item):
        return os.path.relpath(str(item.fspath), REPO_ROOT).replace(os.sep, '/')

    rank = {path: i for i, path in enumerate(longest_files_first([path_of(i) for i in items], load_durations()))}
    items.sort(key=lambda item: rank[path_of(item)])     # stable: the order within each file stays


def pytest_sessionfinish(session):
    config = session.config
    if not config.getoption('store_durations') or hasattr(config, 'workerinput'):
        return                  # xdist workers report to the controller, which writes the file
    store_durations(_FILE_SECONDS, REPO_ROOT)
