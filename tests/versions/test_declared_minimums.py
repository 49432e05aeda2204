# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The declared minimum versions are true: the unit tests pass with exactly them.

meta/ee-requirements.txt (what the modules need) and requirements-dev.txt (what the tests
need) give lower bounds (``name>=X``). This test turns every bound into ``name==X``,
installs exactly that into a venv of its own and runs tests/unit there. The venv is kept
under ~/.cache/autotls/minimums/<hash of the pins and the Python version>, so it is
built once per change of the requirement files (a few minutes, pip downloads from the
package index) and reused afterwards (the unit tests only, about a minute).

The unit tests include an order finalized against a scripted ACME server
(tests/unit/plugins/module_utils/_acme/test_orders.py): that is where an ``acme`` and a
``josepy`` that cannot work together show.
"""

import os
import re
import subprocess

import pytest
from packaging.version import Version

from testbed.venvs import NOT_FOR_UNIT_TESTS, REQUIREMENTS, cached_venv, read_requirements, run_unit_tests

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def minimum_pins(path=REQUIREMENTS):
    """``name[extras]==X`` for every requirement's ``>=X``; a requirement without one is an error."""
    pins, unbounded = [], []
    for name, extras, spec in read_requirements(path):
        if name.lower() in NOT_FOR_UNIT_TESTS:
            continue
        lower = re.search(r'>=\s*([^,\s]+)', spec)
        if lower is None:
            unbounded.append(name)
            continue
        pins.append('%s%s==%s' % (name, extras, lower.group(1)))
    assert not unbounded, 'requirements without a declared minimum (name>=X): %s' % ', '.join(unbounded)
    names = [p.split('[')[0].split('=')[0].lower() for p in pins]
    assert len(names) == len(set(names)), 'a package is declared twice: %s' % sorted(names)
    return pins


def test_requirement_files_are_parsed():
    pins = minimum_pins()
    names = {p.split('[')[0].split('=')[0].lower() for p in pins}
    # The runtime requirements come in through -r meta/ee-requirements.txt.
    assert {'acme', 'josepy', 'cryptography', 'requests', 'boto3', 'ansible-core', 'pytest'} <= names


def _key(pin):
    return pin.split('[')[0].split('=')[0].lower().replace('_', '-')


def test_unit_tests_pass_with_the_declared_minimums(record_property):
    pins = minimum_pins()
    python, cached = cached_venv(pins)
    freeze = subprocess.run([python, '-m', 'pip', 'freeze'], capture_output=True, text=True, check=True).stdout
    installed = {_key(line): line.split('==')[1] for line in freeze.splitlines() if '==' in line}
    used = ['%s==%s' % (_key(p), installed.get(_key(p), 'missing')) for p in pins]
    record_property('summary_line', 'declared minimums (%s venv %s): %s'
                    % ('cached' if cached else 'new', os.path.dirname(os.path.dirname(python)), ', '.join(used)))
    # Exactly the declared versions, not something pip preferred.
    # (3.2 and 3.2.0 are one version.)
    wrong = [(p, installed.get(_key(p))) for p in pins
             if installed.get(_key(p)) is None or Version(installed[_key(p)]) != Version(p.split('==')[1])]
    assert not wrong, 'not the declared minimums: %s' % wrong

    print('\n'.join(used))
    run_unit_tests(python, ', '.join(used))
