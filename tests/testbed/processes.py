# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Background processes for the test bed: start, wait until ready, stop.

Each process runs in its own process group (so stopping it also stops anything it
spawned) with stdout and stderr going to a log file. Every process started here is
remembered until stopped, and an atexit hook stops the rest, so nothing outlives the
test run even when a fixture's teardown never ran.
"""

import atexit
import os
import signal
import subprocess
import time

_running = {}  # pid -> Process, not yet stopped


class ProcessError(RuntimeError):
    """A background process failed to start or become ready."""


class Process:
    """A started background process and its log file."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.log_path = log_path
        self._stopped = False

    @property
    def pid(self):
        return self.popen.pid

    @property
    def returncode(self):
        return self.popen.poll()

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, lines=40):
        """The last `lines` lines of the log, for error messages."""
        try:
            with open(self.log_path, 'rb') as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16384))
                text = f.read().decode('utf-8', 'replace')
        except OSError as e:
            return '(no log: %s)' % e
        return '\n'.join(text.splitlines()[-lines:])

    def wait_ready(self, check, timeout=15.0, what=None):
        """Wait until check() is truthy; fail at once if the process exits first."""
        return wait_until(check, timeout, what or '%s to become ready' % self.name, process=self)

    def stop(self, timeout=5.0):
        """SIGTERM the group, SIGKILL after `timeout` s; safe to call again. Returns the exit code."""
        if self._stopped:
            return self.popen.returncode
        self._stopped = True
        _running.pop(self.pid, None)
        if self.popen.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.popen.wait()
        # Children that ignored SIGTERM keep the group alive after the leader exits;
        # done once only, as the group id could be reused later.
        _signal_group(self.pid, signal.SIGKILL)
        return self.popen.returncode

    def __repr__(self):
        return '<Process %s pid=%d %s>' % (
            self.name, self.pid, 'running' if self.alive() else 'rc=%s' % self.returncode)


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def start_process(argv, log_dir, name=None, env=None, cwd=None):
    """Start argv in a new process group, logging to <log_dir>/<name>.log (appended)."""
    name = name or os.path.basename(argv[0])
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, '%s.log' % name)
    with open(log_path, 'ab') as log:
        popen = subprocess.Popen(
            [str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    proc = Process(name, popen, log_path)
    _running[popen.pid] = proc
    return proc


def wait_until(check, timeout, what, process=None, interval=0.02):
    """Poll check() until it returns something truthy, which is returned.

    An exception from check() counts as "not yet" (the last one is reported). Raises
    ProcessError after `timeout` s, or at once if `process` has exited, with the log tail.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # not ready yet: connection refused and the like
            last_error = e
        if process is not None and not process.alive():
            problem = '%s exited with code %s' % (process.name, process.returncode)
            break
        if time.monotonic() >= deadline:
            problem = 'not ready after %.1f s' % timeout
            break
        time.sleep(interval)
    message = 'waiting for %s: %s' % (what, problem)
    if last_error is not None:
        message += '\nlast error: %r' % (last_error,)
    if process is not None:
        message += '\n--- %s (%s), last lines ---\n%s' % (
            process.name, process.log_path, process.log_tail())
    raise ProcessError(message)


def _gone(pid):
    """True when pid no longer runs (absent or a zombie)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def stop_pid(pid, timeout=5.0):
    """Stop any process by pid (also one we did not start): SIGTERM, then SIGKILL.

    Safe to call twice or on a pid that is gone. Returns True if it had to SIGKILL.
    """
    proc = _running.get(pid)
    if proc is not None:
        proc.stop(timeout)
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return False
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def stop_all():
    """Stop every process started here that is still running (newest first)."""
    for proc in reversed(list(_running.values())):
        proc.stop()


atexit.register(stop_all)
