# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every YAML example of the documentation is checked (see examples.py for how).

One test per example, named by its file and heading, so a failure names the doc.
"""

import glob
import os
import re

import pytest

from testbed.doc_examples import DOC_GLOBS, REPO_ROOT, Checker, all_examples

EXAMPLES = all_examples()


@pytest.fixture(scope='module')
def checker():
    return Checker()


def test_the_docs_have_examples():
    sources = {e.ident.split('#')[0].split(':')[0] for e in EXAMPLES}
    assert {'README.md', 'docs/private-ca-http01.md', 'docs/dns01-route53.md', 'docs/awx.md',
            'plugins/modules/certificate.py', 'plugins/modules/ca_roots.py'} <= sources


@pytest.mark.parametrize('example', EXAMPLES, ids=[e.ident for e in EXAMPLES])
def test_example(example, checker, tmp_path):
    if example.skip_reason is not None:
        assert example.skip_reason, '%s: a not-a-test marker needs a reason' % example.ident
        example.load()      # still valid YAML
        return
    checker.problems = []
    before = checker.checked
    checker.example(example, tmp_path)
    assert not checker.problems, '\n'.join(checker.problems)
    assert checker.checked > before, '%s: nothing in it was checked' % example.ident


def _task_names():
    names = set()
    for pattern in ('playbooks/**/*.yml', 'roles/*/tasks/*.yml', 'roles/*/handlers/*.yml'):
        for path in glob.glob(os.path.join(REPO_ROOT, pattern), recursive=True):
            names.update(m.strip().strip('"\'') for m in re.findall(r'^\s*-?\s*name:\s*(.+)$', open(path).read(), re.M))
    return names


def _quoted_tasks():
    for pattern in DOC_GLOBS:
        for path in sorted(glob.glob(os.path.join(REPO_ROOT, pattern))):
            for number, line in enumerate(open(path, encoding='utf-8'), 1):
                for name in re.findall(r'TASK \[(?:[\w.]+ : )?([^\]]+)\]', line):
                    yield '%s:%d' % (os.path.relpath(path, REPO_ROOT), number), name


QUOTED_TASKS = list(_quoted_tasks())


@pytest.mark.parametrize('where,name', QUOTED_TASKS, ids=[quoted[0] for quoted in QUOTED_TASKS])
def test_quoted_job_output_names_real_tasks(where, name):
    assert name in _task_names(), '%s quotes TASK [%s], which no playbook or role has' % (where, name)
