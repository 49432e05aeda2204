# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.certificate refuses bad names, domains and modes before contacting anyone.

Run as a direct user would, in a playbook on localhost; the CA URL points nowhere, so
a check that came too late would show as a connection error instead.
"""

import pytest

GOOD = {'name': 'app1', 'domains': ['app1.example.test']}


def run_module(run_playbook, tmp_path, certificates, **options):
    args = dict(acme_directory='https://127.0.0.1:9/dir', account_key_src=str(tmp_path / 'account.pem'),
                dest=str(tmp_path / 'certs'), certificates=certificates, **options)
    book = [{'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'name': 'issue', 'autotls.acme.certificate': args}]}]
    result = run_playbook(book, expect_rc=2)
    return result.task('issue')['result']['msg']


@pytest.mark.parametrize('certificates, options, expected', [
    ([dict(GOOD, name='has space')], {}, "the name 'has space', which is not a plain file name"),
    ([dict(GOOD, name='app\n')], {}, "the name 'app\\n', which is not a plain file name"),
    ([dict(GOOD, domains=['foo.*.example.com'])], {}, "domain 'foo.*.example.com' has a \"*\" that is not the whole"),
    ([dict(GOOD, domains=['*.example.test'], challenge='http-01')], {},
     "*.example.test is a wildcard, which HTTP-01 cannot prove; use challenge: dns-01"),
    ([dict(GOOD, domains=['a' * 70 + '.example.test'])], {}, 'has a label of 70 characters'),
    ([dict(GOOD, domains=['shop.example.test evil.example.test; location /leak/ {'])], {}, 'contains white space'),
    ([GOOD], {'key_mode': 660}, 'key_mode is the number 660, not a quoted string: quote it, e.g. "0640"'),
    ([GOOD], {'file_mode': 644}, 'file_mode is the number 644'),
    ([GOOD], {'key_mode': '0644'}, "key_mode '0644' gives every user on the host access to the private key"),
    ([GOOD], {'file_mode': '7777777'}, "file_mode '7777777' is not an octal mode of at most 0777"),
    ([GOOD], {'file_mode': '-1'}, "file_mode '-1' is not an octal mode of at most 0777"),
], ids=['space-name', 'newline-name', 'inner-wildcard', 'wildcard-http01', 'long-label', 'injection',
        'key-int', 'file-int', 'key-open', 'mode-big', 'mode-negative'])
def test_bad_input_is_refused_before_the_ca_is_contacted(run_playbook, tmp_path, certificates, options, expected):
    assert expected in run_module(run_playbook, tmp_path, certificates, **options)
    assert not (tmp_path / 'certs').exists()
