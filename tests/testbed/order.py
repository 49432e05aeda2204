# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The suite's order: the test files that take longest first (tests/conftest.py).

pytest-xdist (--dist loadgroup) hands each worker the next test of the collection as it
frees up. With the longest files first, the run ends on short tests and the workers finish
together instead of one running a long test alone at the end.

How long each file took in a whole run (seconds, setup and teardown included) is kept in
tests/durations.json; `make test PYTEST_ARGS=--store-durations` rewrites it from a run
(files that did not run keep their figure, files that are gone are dropped).
"""

import json
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DURATIONS_FILE = os.path.join(REPO_ROOT, 'tests', 'durations.json')
# A file not in the table yet: one of the suite's long kinds is taken for long (it starts
# early, where it cannot be left alone at the end), anything else for short.
UNKNOWN_LONG = ('tests/integration/', 'tests/versions/', 'tests/sanity/')
UNKNOWN_LONG_SECONDS = 60.0
ABOUT = ('seconds per test file in a whole run, setup and teardown included (tests/testbed/order.py); '
         'the suite starts the longest first. make test PYTEST_ARGS=--store-durations rewrites it')


def load_durations(path=DURATIONS_FILE):
    """{test file relative to the repository: seconds}; {} without a table."""
    try:
        with open(path, encoding='utf-8') as handle:
            return {name: float(seconds) for name, seconds in json.load(handle)['files'].items()}
    except FileNotFoundError:
        return {}


def expected_seconds(path, durations):
    if path in durations:
        return durations[path]
    return UNKNOWN_LONG_SECONDS if path.startswith(UNKNOWN_LONG) else 0.0


def longest_files_first(paths, durations):
    """The distinct ``paths`` (test files in collection order) by expected duration, longest
    first; ties keep their collection order."""
    first_seen = {}
    for path in paths:
        first_seen.setdefault(path, len(first_seen))
    return sorted(first_seen, key=lambda p: (-expected_seconds(p, durations), first_seen[p]))


def store_durations(measured, repo_root=REPO_ROOT, path=DURATIONS_FILE):
    """Merge ``measured`` {file: seconds} into the table at ``path``; returns the table."""
    durations = load_durations(path)
    durations.update({name: round(seconds, 1) for name, seconds in measured.items()})
    durations = {name: seconds for name, seconds in durations.items()
                 if os.path.exists(os.path.join(repo_root, name))}
    table = dict(sorted(durations.items(), key=lambda item: (-item[1], item[0])))
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump({'about': ABOUT, 'files': table}, handle, indent=1)
        handle.write('\n')
    return table
