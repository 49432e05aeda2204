# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest fixtures over the test bed, and a playbook runner.

Fixtures: testbed (session), pebble_factory, route53, ansible_env (alias
tmp_collections_env), run_playbook. `ansible_environment()` and `run_ansible_playbook()`
work without pytest too (for the demo script).
"""

import dataclasses
import itertools
import json
import os
import re
import signal
import subprocess
import sys

import pytest

from .bed import Testbed
from .moto import aws_env
from .pebble import Pebble

VENV_BIN = os.path.dirname(sys.executable)
CALLBACK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins')
RESULTS_ENV = 'AUTOTLS_RESULTS_FILE'
PLAYBOOK_FQCN = re.compile(r'[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*')


# ---- test bed ---------------------------------------------------------------------------

@pytest.fixture(scope='session')
def testbed(tmp_path_factory):
    """moto + Route53 DNS server + Pebble (no EAB), one per test session (per xdist worker)."""
    with Testbed(workdir=tmp_path_factory.mktemp('testbed')) as bed:
        yield bed


@pytest.fixture
def pebble_factory(testbed, tmp_path):
    """pebble_factory(eab_required=..., env=..., http_port=...) -> a started extra Pebble on
    the session's DNS server; all are stopped when the test ends."""
    started = []

    def make(**kwargs):
        name = 'pebble-extra%d' % (len(started) + 1)
        pebble = Pebble(testbed.dns.address, workdir=str(tmp_path / name), name=name, **kwargs)
        started.append(pebble)
        return pebble.start()

    yield make
    for pebble in reversed(started):
        pebble.stop()


@pytest.fixture
def route53(testbed):
    """The testbed (its Route53 helpers); hosted zones made during the test are deleted after."""
    before = set(testbed.zone_ids())
    yield testbed
    for zone_id in testbed.zone_ids():
        if zone_id not in before:
            testbed.delete_zone(zone_id)


# ---- ansible-playbook -------------------------------------------------------------------

def ansible_environment(extra=None):
    """Environment for `ansible-playbook` in a subprocess, run from this venv."""
    env = dict(os.environ)
    env.update(aws_env())
    env.update({
        'PATH': VENV_BIN + os.pathsep + os.environ.get('PATH', ''),
        # Set by tests/conftest.py; a demo script must set it itself.
        'ANSIBLE_COLLECTIONS_PATH': os.environ.get('ANSIBLE_COLLECTIONS_PATH', ''),
        # localhost runs modules with this venv's Python (boto3, acme); SSH test hosts
        # set ansible_python_interpreter themselves, which wins over this.
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        # One SSH round trip per task instead of several (test hosts have no requiretty).
        'ANSIBLE_PIPELINING': 'True',
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
        'ANSIBLE_CALLBACK_RESULT_FORMAT': 'yaml',
        'ANSIBLE_CALLBACK_PLUGINS': CALLBACK_DIR,
        'ANSIBLE_CALLBACKS_ENABLED': 'record_results',
        'PYTHONUNBUFFERED': '1',
    })
    env.update(extra or {})
    return env


@dataclasses.dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    results: list      # one dict per task result: task, action, host, status, changed, failed, result...
    stats: dict        # host -> {ok, changed, failures, unreachable, skipped, ...}
    command: list

    def tasks(self, name=None, host=None):
        return [r for r in self.results
                if (name is None or r['task'] == name) and (host is None or r['host'] == host)]

    def task(self, name, host=None):
        """The last result of task `name` (on `host`)."""
        found = self.tasks(name, host)
        if not found:
            raise KeyError('no result for task %r%s; tasks seen: %s' % (
                name, ' on %s' % host if host else '', sorted({r['task'] for r in self.results})))
        return found[-1]

    @property
    def changed(self):
        return [r for r in self.results if r['changed']]

    @property
    def failed(self):
        return [r for r in self.results if r['failed'] and not r['ignore_errors']]


def _write_playbook(playbook, workdir):
    if isinstance(playbook, (list, dict)):
        text = json.dumps(playbook if isinstance(playbook, list) else [playbook], indent=2)
    elif isinstance(playbook, os.PathLike) or ('\n' not in playbook and os.path.exists(playbook)):
        return os.fspath(playbook)
    elif PLAYBOOK_FQCN.fullmatch(playbook):
        # A collection's playbook by name (autotls.acme.renew), as users run an installed one.
        return playbook
    else:
        text = playbook
    path = os.path.join(workdir, 'playbook.yml')
    with open(path, 'w') as f:
        f.write(text)
    return path


def run_ansible_playbook(playbook, workdir, extra_vars=None, check=False, expect_rc=0, env=None,
                         inventory='localhost,', connection='local', args=(), timeout=600):
    """Run ansible-playbook and return a PlaybookResult.

    playbook: a path, YAML text, or a list/dict (written as JSON). extra_vars go in a JSON
    file (types survive). expect_rc: the exit code to assert (None: no check); on a
    mismatch the output is printed and an AssertionError raised.
    """
    os.makedirs(workdir, exist_ok=True)
    path = _write_playbook(playbook, workdir)
    results_file = os.path.join(workdir, 'results.jsonl')
    open(results_file, 'w').close()
    command = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inventory, path]
    if connection:
        command += ['-c', connection]
    if extra_vars:
        vars_file = os.path.join(workdir, 'extra_vars.json')
        with open(vars_file, 'w') as f:
            json.dump(extra_vars, f)
        command += ['-e', '@' + vars_file]
    if check:
        command.append('--check')
    command += list(args)
    run_env = dict(env if env is not None else ansible_environment())
    run_env[RESULTS_ENV] = results_file
    # Own process group: on timeout the forked workers go too.
    proc = subprocess.Popen(command, cwd=workdir, env=run_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        print(stdout, stderr, sep='\n')
        raise
    results, stats = [], {}
    with open(results_file, encoding='utf-8') as f:
        for line in f:
            record = json.loads(line)
            if record.pop('kind') == 'stats':
                stats = record['stats']
            else:
                results.append(record)
    result = PlaybookResult(proc.returncode, stdout, stderr, results, stats, command)
    if expect_rc is not None and proc.returncode != expect_rc:
        print('$ %s\n--- stdout ---\n%s\n--- stderr ---\n%s' % (' '.join(command), stdout, stderr))
        tail = '\n'.join((stdout + stderr).splitlines()[-60:])
        raise AssertionError('ansible-playbook exited %d, expected %d; last output:\n%s'
                             % (proc.returncode, expect_rc, tail))
    return result


@pytest.fixture
def ansible_env():
    """Environment dict for running ansible-playbook in a subprocess."""
    return ansible_environment()


@pytest.fixture(name='tmp_collections_env')
def _tmp_collections_env():
    """Same as ansible_env (another name for it)."""
    return ansible_environment()


@pytest.fixture
def run_playbook(tmp_path, ansible_env):
    """run_playbook(playbook, extra_vars=None, check=False, expect_rc=0, **kw) -> PlaybookResult.

    Each call runs in its own directory under the test's tmp_path; `env=` replaces the
    environment (start from the ansible_env fixture), other keywords go to run_ansible_playbook.
    """
    counter = itertools.count(1)

    def run(playbook, extra_vars=None, check=False, expect_rc=0, env=None, **kwargs):
        workdir = str(tmp_path / ('playbook-%d' % next(counter)))
        return run_ansible_playbook(playbook, workdir, extra_vars, check, expect_rc,
                                    env=ansible_env if env is None else env, **kwargs)

    return run
