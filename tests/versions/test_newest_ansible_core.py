# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The unit tests pass with the newest ansible-core the package index offers.

The development venv holds the ansible-core the suite runs with (2.19, below the bound in
requirements-dev.txt); tests/versions/test_declared_minimums.py covers the oldest supported
(2.17). This one installs the newest release into a venv of its own, on the newest Python
of the machine that it needs (ansible-core 2.20 and later want Python 3.12 or newer), with
every other requirement as declared, and runs tests/unit there. Like the minimums' venv it
is cached under ~/.cache/autotls/minimums, keyed by the requirements and the interpreter.

Not all of tests/unit: the tests marked ``moto`` (module_utils against the moto server:
_dns/test_route53.py, test_dns01.py, test_propagation.py, most of _store/test_store.py and
part of test_lease.py) are left out. They use no ansible-core (module_utils import none of
it), and boto3 and moto resolve to the same releases as in the development venv, where they
run. What this test leaves unchecked is those module_utils on the newer Python. Everything
that runs ansible-core (modules, filters, roles and playbooks through ansible-playbook) and
the other module_utils tests run here.
"""

# The part of tests/unit this test leaves out (see above).
LEFT_OUT = ('-m', 'not moto')

import glob
import os
import shutil
import subprocess

import pytest

from testbed.venvs import NOT_FOR_UNIT_TESTS, REQUIREMENTS, cached_venv, read_requirements, run_unit_tests

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# The newest ansible-core needs at least this Python on the controller.
NEEDED_PYTHON = (3, 12)


def _version_of(python):
    try:
        out = subprocess.run([python, '-c', 'import sys; print("%d %d" % sys.version_info[:2])'],
                             capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(int(part) for part in out.split())


def newest_python():
    """(path, (major, minor)) of the newest CPython on this machine, or (None, None)."""
    candidates = [shutil.which('python3.%d' % minor) for minor in range(12, 16)]
    candidates += glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python3'))
    found = [(version, path) for path in candidates if path for version in [_version_of(path)] if version]
    if not found:
        return None, None
    version, path = max(found)
    return path, version


def newest_pins():
    """The unit tests' requirements as declared, except ansible-core: the newest release."""
    pins = []
    for name, extras, spec in read_requirements(REQUIREMENTS):
        if name.lower() in NOT_FOR_UNIT_TESTS:
            continue
        pins.append(name + extras if name.lower() == 'ansible-core' else name + extras + spec)
    return pins


def test_unit_tests_pass_with_the_newest_ansible_core(record_property):
    python, version = newest_python()
    assert version and version >= NEEDED_PYTHON, (
        'the newest ansible-core needs Python %d.%d or newer on the controller; the newest found here is %s'
        % (NEEDED_PYTHON + (version and '%d.%d at %s' % (version + (python,)) or 'none',)))
    venv_python, cached = cached_venv(newest_pins(), python=python, purpose='the newest ansible-core')
    core = subprocess.run([venv_python, '-c', 'from ansible.release import __version__; print(__version__)'],
                          capture_output=True, text=True, check=True).stdout.strip()
    label = 'ansible-core %s on Python %d.%d' % ((core,) + version)
    record_property('summary_line', 'newest ansible-core (%s venv %s): %s'
                    % ('cached' if cached else 'new', os.path.dirname(os.path.dirname(venv_python)), label))
    # Newer than the one the development venv runs: otherwise this test proves nothing new.
    assert tuple(int(part) for part in core.split('.')[:2]) >= (2, 20), label
    run_unit_tests(venv_python, label + ' (tests/unit without the moto ones)', LEFT_OUT)
