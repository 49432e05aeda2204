# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autotls.acme.certificate refuses bad names, domains and modes before contacting anyone.

Run as a direct user would, in a playbook on localhost; the CA URL points nowhere, so
a check that came too late would show as a connection error instead.
"""

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._acme.account import new_account_key
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


# An account key rollover left a new key for the issuer (account_key_pending): id -> (the issuer's key
# is given as content, the waiting key is the configured one, what the refusal says or None).
ROLLOVERS = {
    'pending-file': (False, False, 'a new account key is waiting in %(pending)s, and the account key %(key)s is '
                                   'still the old one'),
    'pending-vault': (True, False, 'put the content of %(pending)s into that vault variable or the AWX credential'),
    'pending-moved': (True, True, None),
}


def _rollover_task(base, case, as_content, moved):
    directory = base / case
    directory.mkdir()
    old_pem, new_pem = new_account_key('ec256'), new_account_key('ec256')
    (directory / 'account.pem.new').write_bytes(new_pem)
    issuer = {'name': 'first', 'directory': 'https://127.0.0.1:9/dir',
              'account_key_pending': str(directory / 'account.pem.new')}
    if as_content:
        issuer['account_key_content'] = (new_pem if moved else old_pem).decode()
    else:
        (directory / 'account.pem').write_bytes(old_pem)
        issuer['account_key_src'] = str(directory / 'account.pem')
    return {'name': case, 'ignore_errors': True, 'autotls.acme.certificate': {
        'issuers': [issuer], 'dest': str(directory / 'certs'), 'certificates': [GOOD]}}


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
    for case, (as_content, moved, _expected) in ROLLOVERS.items():
        tasks.append(_rollover_task(base, case, as_content, moved))
    # Two issuers, the first with a rollover waiting: its certificate goes to the second (nowhere, so it fails there).
    task = _rollover_task(base, 'pending-first-of-two', False, False)
    second = {'name': 'second', 'directory': 'https://127.0.0.2:9/dir',
              'account_key_src': str(base / 'pending-first-of-two' / 'account-second.pem')}
    task['autotls.acme.certificate']['issuers'].append(second)
    tasks.append(task)
    book = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]
    return base, run_ansible_playbook(book, str(base / 'run'), env=ansible_environment())


@pytest.mark.parametrize('case', list(CASES))
def test_bad_input_is_refused_before_the_ca_is_contacted(refusals, case):
    base, result = refusals
    outcome = result.task(case)
    assert outcome['failed'], outcome
    assert CASES[case][2] in outcome['result']['msg']
    assert not (base / case / 'certs').exists()


@pytest.mark.parametrize('case', list(ROLLOVERS))
def test_an_unfinished_account_key_rollover_is_refused_before_the_ca_is_contacted(refusals, case):
    """With the old key the CA would open a new, separate account: the module names the waiting key instead."""
    base, result = refusals
    record = result.task(case)
    outcome = record['result']
    _as_content, _moved, expected = ROLLOVERS[case]
    pending = base / case / 'account.pem.new'
    assert record['failed'], record
    if expected is None:
        # The vault holds the new key now: no refusal (the nowhere CA is tried), and the left file is deleted.
        assert 'rollover' not in outcome['msg'] and '127.0.0.1:9' in outcome['msg'], outcome['msg']
        assert not pending.exists()
        return
    assert expected % {'pending': pending, 'key': base / case / 'account.pem'} in outcome['msg'], outcome['msg']
    assert 'autotls_account_rollover=true -e autotls_account_issuer=first' in outcome['msg']
    assert 'would open a new, separate account' in outcome['msg']
    assert pending.exists() and not (base / case / 'certs').exists()


def test_a_waiting_key_at_one_issuer_sends_the_certificate_to_the_next(refusals):
    """Only that issuer is held: the second one is asked (here: unreachable), the first never."""
    base, result = refusals
    outcome = result.task('pending-first-of-two')['result']
    [cert] = outcome['certificates']
    pending = base / 'pending-first-of-two' / 'account.pem.new'
    tried = cert['issuers_tried']
    assert tried[0].startswith('first: The account key rollover at issuer first is not finished: a new account key '
                               'is waiting in %s' % pending), tried
    assert tried[0].endswith('(not asked)') and tried[1].startswith('second: unreachable'), tried
    assert any('rollover at issuer first is not finished' in w for w in outcome.get('warnings') or []), outcome
    assert pending.exists()
