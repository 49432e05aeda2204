# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""README's first command, `make demo`, works as the README says: the nightly job twice
on the embedded default (Pebble, moto, a DNS server on loopback), the second run has
nothing to do, the chain verifies against the CA's root and no TXT value is left."""

import os
import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_make_demo_issues_then_has_nothing_to_do(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    # Started as `make demo` does, with the project venv's Python; its own process group
    # so that a timeout takes the CA and the DNS server with it.
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, 'scripts', 'demo.py')], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = proc.communicate(timeout=300)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        output = proc.communicate()[0]
        raise AssertionError('make demo did not finish in 300 s:\n' + output[-4000:])
    assert proc.returncode == 0, output[-4000:]
    first, second = output.split('(second run: nothing is due)', 1)
    assert 'Totals: 2 issued, 0 renewed, 0 unchanged, 0 failed' in first, first[-3000:]
    assert 'Nothing to do: 2 certificates checked' in second, second[-3000:]
    recap = second.split('PLAY RECAP', 1)[1]
    assert re.findall(r'changed=(\d+)', recap) and set(re.findall(r'changed=(\d+)', recap)) == {'0'}, recap
    assert 'cert.pem: OK' in second
    assert 'challenge TXT values left in Route53: none' in second
