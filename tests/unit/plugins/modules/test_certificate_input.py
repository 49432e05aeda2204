# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.certificate refuses bad names, domains and modes before contacting anyone.

Run as a direct user would, in a playbook on localhost; the CA URL points nowhere, so
a check that came too late would show as a connection error instead.
"""

import pytest

from testbed.fixtures import ansible_environment, run_ansible_playbook

GOOD = {'name': 'app1', 'domains': ['app1.example.test']}

# id: (certificates, module options, what the refusal says)
CASES = {
    'space-name': ([dict(GOOD, name='has space')], {}, "the name 'has space', which is not a plain file name"),
    'newline-name': ([dict(GOOD, name='app\n')], {}, "the name 'app\\n', which is not a plain file name"),
    'inner-wildcard': ([dict(GOOD, domains=['foo.*.example.com'])], {},
                       "domain 'foo.*.example.com' has a \"*\" that is not the whole"),
    'wildcard-http01': ([dict(GOOD, domains=['*.example.test'], challenge='http-01')], {},
                        "*.example.test is a wildcard, which HTTP-01 cannot prove; use challenge: dns-01"),
    'long-label': ([dict(GOOD, domains=['a' * 70 + '.example.test'])], {}, 'has a label of 70 characters'),
    'injection': ([dict(GOOD, domains=['shop.example.test evil.example.test; location /leak/ {'])], {},
                  'contains white space'),
    'key-int': ([GOOD], {'key_mode': 660}, 'key_mode is the number 660, not a quoted string: quote it, e.g. "0640"'),
    'file-int': ([GOOD], {'file_mode': 644}, 'file_mode is the number 644'),
    'key-open': ([GOOD], {'key_mode': '0644'}, "key_mode '0644' gives every user on the host access to the private key"),
    'mode-big': ([GOOD], {'file_mode': '7777777'}, "file_mode '7777777' is not an octal mode of at most 0777"),
    'mode-negative': ([GOOD], {'file_mode': '-1'}, "file_mode '-1' is not an octal mode of at most 0777"),
}


@pytest.fixture(scope='module')
def refusals(tmp_path_factory):
    """Every case in one playbook run: one task each (errors ignored, so that all run), each
    with its own account key path and destination. Returns (base directory, PlaybookResult)."""
    base = tmp_path_factory.mktemp('certificate-input')
    tasks = []
    for case, (certificates, options, _expected) in CASES.items():
        args = dict(acme_directory='https://127.0.0.1:9/dir', account_key_src=str(base / case / 'account.pem'),
                    dest=str(base / case / 'certs'), certificates=certificates, **options)
        tasks.append({'name': case, 'autotls.acme.certificate': args, 'ignore_errors': True})
    book = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]
    return base, run_ansible_playbook(book, str(base / 'run'), env=ansible_environment())


@pytest.mark.parametrize('case', list(CASES))
def test_bad_input_is_refused_before_the_ca_is_contacted(refusals, case):
    base, result = refusals
    outcome = result.task(case)
    assert outcome['failed'], outcome
    assert CASES[case][2] in outcome['result']['msg']
    assert not (base / case / 'certs').exists()
