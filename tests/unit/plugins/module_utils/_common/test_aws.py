# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""boto3 is loaded when the first AWS client is made, not when a module starts."""

import subprocess
import sys

import ansible_collections


def _run(code):
    # A fresh interpreter: this test process has imported boto3 long ago.
    paths = [p for p in sys.path if p] + list(ansible_collections.__path__)
    prelude = 'import sys; sys.path[:0] = %r\n' % paths
    return subprocess.run([sys.executable, '-c', prelude + code], capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_certificate_module_starts_without_importing_boto3():
    done = _run(
        'import ansible_collections.autotls.acme.plugins.modules.certificate as m\n'
        'from ansible_collections.autotls.acme.plugins.module_utils._common import aws\n'
        'assert aws.HAS_BOTO3\n'
        'assert "boto3" not in sys.modules, "boto3 imported at start"\n'
        'aws.route53_client({"aws_access_key": "a", "aws_secret_key": "b", "aws_endpoint_url": "http://127.0.0.1:1"})\n'
        'assert "boto3" in sys.modules\n'
        'print("ok")\n')
    assert done.stdout.strip() == 'ok', done.stderr
