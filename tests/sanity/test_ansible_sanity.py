# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ``ansible-test sanity`` on a copy of the collection.

ansible-test only works inside an ``ansible_collections/<namespace>/<name>`` tree, so
the files a commit would hold (tracked, plus untracked ones that are not ignored) are
copied into one under a temporary directory. ``--venv`` lets ansible-test install the
pinned tools each test needs (pylint, yamllint, ...) into its own cached virtualenvs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_TEST = os.path.join(os.path.dirname(sys.executable), 'ansible-test')
PYTHON_VERSION = '%d.%d' % sys.version_info[:2]
# Tests to leave out, each with its reason. validate-modules, pylint, compile, import,
# pep8, yamllint and the no-log checks must always run.
SKIPPED_TESTS = []
# Used only when git cannot list the files.
NOT_CONTENT = {'.git', '.venv', '.pytest_cache', '__pycache__'}

# ansible-test puts pip into each fresh virtualenv with a "get-pip" script it downloads
# from a host outside the package registries, and reads it from a cache file first.
# This stand-in does the same job from the interpreter's own ensurepip plus PyPI.
GET_PIP_STAND_IN = """\
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args))
"""


def _provide_get_pip():
    """Put the stand-in where ansible-test looks for its cached get-pip script."""
    from types import SimpleNamespace

    from ansible_test._internal.python_requirements import get_venv_packages

    version = get_venv_packages(SimpleNamespace(version=PYTHON_VERSION))['pip']
    path = os.path.expanduser('~/.ansible/test/cache/get_pip_%s.py' % version.replace('.', '_'))
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + '.tmp', 'w', encoding='utf-8') as f:
            f.write(GET_PIP_STAND_IN)
        os.replace(path + '.tmp', path)


def _collection_files():
    try:
        out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                             cwd=REPO_ROOT, check=True, capture_output=True).stdout
        names = [name for name in out.decode('utf-8').split('\0') if name]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for dirpath, dirnames, filenames in os.walk(REPO_ROOT):
            rel_dir = os.path.relpath(dirpath, REPO_ROOT)
            dirnames[:] = [d for d in dirnames if d not in NOT_CONTENT
                           and os.path.normpath(os.path.join(rel_dir, d)) != os.path.join('tests', 'output')]
            names.extend(os.path.normpath(os.path.join(rel_dir, f)) for f in filenames
                         if not f.endswith('.pyc'))
    # A virtualenv (say a benchmark's baseline) is never collection content, tracked or not.
    venvs = tuple(os.path.dirname(name) + '/' for name in names if os.path.basename(name) == 'pyvenv.cfg')
    # A tracked file deleted in the work tree is still listed by git.
    return [name for name in names
            if not name.startswith(venvs) and os.path.lexists(os.path.join(REPO_ROOT, name))]


def _copy_collection(dest):
    for name in _collection_files():
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(REPO_ROOT, name), target, follow_symlinks=False)


@pytest.mark.sanity
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_ansible_test_sanity(tmp_path):
    collection = tmp_path / 'ansible_collections' / 'autotls' / 'acme'
    _copy_collection(str(collection))
    _provide_get_pip()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('ANSIBLE_', 'PYTEST_', 'PYTHONPATH'))}
    cmd = [ANSIBLE_TEST, 'sanity', '--venv', '--python', PYTHON_VERSION, '--color', 'no']
    for name in SKIPPED_TESTS:
        cmd += ['--skip-test', name]

    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=str(collection), env=env, stdin=subprocess.DEVNULL, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.monotonic() - started

    log_path = os.path.join(REPO_ROOT, 'tests', 'output', 'ansible-test-sanity.log')
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, 'w', encoding='utf-8') as log:
        log.write('$ %s\n%s\n(rc %d after %.0f s)\n' % (' '.join(cmd), proc.stdout, proc.returncode, elapsed))
    # Shown by pytest under "Captured stdout" when the test fails.
    print(proc.stdout)
    print('ansible-test sanity: rc %d after %.0f s (log: %s)' % (proc.returncode, elapsed, log_path))
    problems = [line for line in proc.stdout.splitlines() if line.startswith(('ERROR:', 'FATAL:'))]
    if len(problems) > 60:
        problems[50:] = ['... %d more lines in %s' % (len(problems) - 50, log_path)]
    if proc.returncode != 0:
        pytest.fail('ansible-test sanity failed (rc %d):\n%s' % (proc.returncode, '\n'.join(problems)),
                    pytrace=False)
