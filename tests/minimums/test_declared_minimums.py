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
# Developer tools of requirements-dev.txt that the unit tests never import.
NOT_FOR_UNIT_TESTS = {'ansible-runner', 'ansible-builder', 'antsibull-changelog'}
REQUIREMENT = re.compile(r'^(?P<name>[A-Za-z0-9_.-]+)(?P<extras>\[[^\]]*\])?\s*(?P<spec>[^#;]*)')

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


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


def _venv(pins):
    """(python of the venv with exactly ``pins``, whether it was there already)."""
    key = hashlib.sha256(('\n'.join(sorted(pins)) + '\n' + sys.version).encode()).hexdigest()[:16]
    venv = os.path.join(CACHE, key)
    python = os.path.join(venv, 'bin', 'python')
    complete = os.path.join(venv, '.complete')
    if os.path.exists(complete):
        return python, True
    # Built where it stays (its scripts, e.g. moto_server, name their interpreter's path);
    # marked complete only once pip succeeded.
    shutil.rmtree(venv, ignore_errors=True)
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run([getattr(sys, '_base_executable', sys.executable), '-m', 'venv', venv], check=True)
    install = subprocess.run([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check'] + pins,
                             capture_output=True, text=True, check=False)
    if install.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.fail('The declared minimums cannot be installed together:\n%s\n%s'
                    % ('\n'.join(pins), install.stderr[-3000:]))
    open(complete, 'w').close()
    return python, False


def test_unit_tests_pass_with_the_declared_minimums(record_property):
    pins = minimum_pins()
    python, cached = _venv(pins)
    freeze = subprocess.run([python, '-m', 'pip', 'freeze'], capture_output=True, text=True, check=True).stdout
    installed = {_key(line): line.split('==')[1] for line in freeze.splitlines() if '==' in line}
    used = ['%s==%s' % (_key(p), installed.get(_key(p), 'missing')) for p in pins]
    record_property('summary_line', 'declared minimums (%s venv %s): %s'
                    % ('cached' if cached else 'new', os.path.dirname(os.path.dirname(python)), ', '.join(used)))
    # Exactly the declared versions, not something pip preferred.
    assert sorted(used) == sorted('%s==%s' % (_key(p), p.split('==')[1]) for p in pins)

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PYTEST_', 'PYTHON', 'VIRTUAL_ENV', 'ANSIBLE_'))}
    env['PATH'] = os.path.dirname(python) + os.pathsep + env.get('PATH', '')
    done = subprocess.run([python, '-m', 'pytest', 'tests/unit', '-q', '-p', 'no:cacheprovider', '-n', '2',
                           '-o', 'addopts=--import-mode=importlib --strict-markers -ra'],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=1200)
    print('\n'.join(used))
    print(done.stdout[-5000:])
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    assert done.returncode == 0, 'unit tests with %s: %s\n%s' % (', '.join(used), summary, done.stdout[-6000:])
    assert ' skipped' not in summary, 'unit tests skipped with the declared minimums: %s' % summary
