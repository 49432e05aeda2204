# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""account.yml on an S3 store: the new key is in the store before the CA is asked.

A push failing after the CA accepted the key change would otherwise lose the only copy of
the key the account then has. The steps as ansible-core reads them, the prepare step of the
account module as it runs (it reads the CA's directory only), and the failure messages as ansible-core renders them.
"""

import contextlib
import http.server
import json
import os
import threading

import yaml

from ansible_collections.autotls.acme.plugins.module_utils._acme.account import new_account_key, same_key

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, 'playbooks', 'account.yml')
KEEP = 'Keep the account'
FAIL = 'Fail when the working copy could not be pushed'
NOWHERE = 'https://127.0.0.1:9/dir'     # nothing listens: a step that contacted the CA would fail


@contextlib.contextmanager
def _directory_server():
    """A CA that serves only its directory: /with (a keyChange URL) and /without (none, as step-ca)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            base = 'http://127.0.0.1:%d' % self.server.server_port
            body = {'newNonce': base + '/nonce', 'newAccount': base + '/acct', 'newOrder': base + '/order'}
            if self.path == '/with':
                body['keyChange'] = base + '/key-change'
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % server.server_port
    finally:
        server.shutdown()
        server.server_close()


def _block():
    with open(PLAYBOOK, encoding='utf-8') as handle:
        tasks = yaml.safe_load(handle)[0]['tasks']
    return [task for task in tasks if task.get('name') == KEEP][0]


def test_the_new_key_is_pushed_before_the_key_change_and_again_after():
    block = _block()
    names = [task['name'] for task in block['block']]
    prepare, push, stop, change = (names.index(name) for name in (
        'Write the new account key into the working copy', 'Push the new account key to the store before the CA is asked',
        'Stop when the new account key could not be pushed', 'Bring the account to what is asked'))
    assert names.index('Pull the store into the working copy') < prepare < push < stop < change
    assert block['block'][prepare]['autotls.acme.account']['rollover_step'] == 'prepare'
    assert 'rollover_step' not in block['block'][push] and block['block'][push]['autotls.acme.store']['state'] == 'pushed'
    assert block['block'][change]['autotls.acme.account']['rollover_step'] == 'complete'
    assert '__account_s3' in block['block'][prepare]['when'] and '__account_rollover' in block['block'][prepare]['when']
    always = [task['name'] for task in block['always']]
    assert always == ['Push the working copy back to the store', "Give the store's lease back",
                      "Warn when the store's lease could not be given back", FAIL]


def test_the_prepare_step_writes_the_new_key_and_reads_only_the_directory(run_playbook, tmp_path):
    old = new_account_key('ec256')
    store = tmp_path / 'store'
    store.mkdir()
    (store / 'account.pem').write_bytes(old)
    with _directory_server() as base:
        issuers = [{'name': 'first', 'directory': base + '/with', 'account_key_src': str(store / 'account.pem'),
                    'account_key_pending': str(store / 'account.pem.new')}]
        args = {'issuers': issuers, 'rollover': True, 'rollover_step': 'prepare'}
        without = {'issuers': [dict(issuers[0], directory=base + '/without')], 'rollover': True,
                   'rollover_step': 'prepare'}
        tasks = [{'name': 'refused', 'autotls.acme.account': without, 'ignore_errors': True},
                 {'name': 'first', 'autotls.acme.account': args}, {'name': 'again', 'autotls.acme.account': args},
                 {'name': 'alone', 'autotls.acme.account': dict(args, rollover=False), 'ignore_errors': True}]
        result = run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])
    # A CA whose directory has no keyChange (step-ca): refused before any key is written.
    refused = result.task('refused')['result']
    assert 'new_key_path' not in refused and 'the account key cannot be rolled over there. Nothing was written' in refused['msg']
    assert base + '/without' in refused['msg']
    first, again = result.task('first')['result'], result.task('again')['result']
    assert (first['changed'], first['new_key_path'], first['rolled_over']) == (True, str(store / 'account.pem.new'), False)
    waiting = (store / 'account.pem.new').read_bytes()
    assert not same_key(old, waiting) and (store / 'account.pem').read_bytes() == old
    assert again['changed'] is False and (store / 'account.pem.new').read_bytes() == waiting   # kept, never replaced
    assert 'rollover_step=prepare needs rollover=true' in result.task('alone')['result']['msg']


def _rendered(run_playbook, cases):
    fail = [task for task in _block()['always'] if task['name'] == FAIL][0]
    assert fail['when'] == '__account_pushed.msg is defined'
    tasks = [{'name': name, 'vars': dict(case, **fail['vars']),
              'ansible.builtin.debug': {'msg': fail['ansible.builtin.fail']['msg']}} for name, case in cases.items()]
    result = run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])
    return {name: result.task(name)['result']['msg'] for name in cases}


def test_a_failed_push_after_the_key_change_says_where_the_new_key_is(run_playbook):
    pushed = {'msg': 'no longer holds the lease'}
    in_store = {'name': 'zerossl', 'key_file': '/srv/autotls/account-zerossl.pem',
                'pending_key': '/srv/autotls/account-zerossl.pem.new',
                'key_setting': 'autotls_issuers[1].account_key_content (issuer zerossl)'}
    vault = dict(in_store, key_file=None, pending_key='/srv/autotls/account-zerossl.pem.pending')
    store = {'__account_store_path': '/srv/autotls'}
    cases = {
        'file': {**store, '__account_pushed': pushed, '__account_issuer': in_store,
                 '__account_result': {'rolled_over': True, 'new_key_path': '/srv/autotls/account-zerossl.pem'}},
        'vault': {**store, '__account_pushed': pushed, '__account_issuer': vault,
                  '__account_result': {'rolled_over': True, 'new_key_path': '/srv/autotls/account-zerossl.pem.pending'}},
        # autotls_account_new_key_dest outside the working copy: the store never held it.
        'outside': {**store, '__account_pushed': pushed, '__account_issuer': vault,
                    '__account_result': {'rolled_over': True, 'new_key_path': '/secure/zerossl-new.pem'}},
        'contact': {**store, '__account_pushed': pushed, '__account_issuer': vault, '__account_result': {'rolled_over': False}},
    }
    shown = _rendered(run_playbook, cases)
    for case in ('file', 'vault', 'outside'):
        assert shown[case].startswith('Could not push the working copy to the store: no longer holds the lease. The CA '
                                      'now knows the account at zerossl only by its new key.'), shown[case]
        assert 'Until then, runs refuse to order or revoke with this issuer' in shown[case]
    assert 'The store holds it as account-zerossl.pem.new (pushed before the CA was asked)' in shown['file']
    assert ('Run account.yml -e autotls_account_issuer=zerossl again: it asks the CA which key the account has and '
            'puts the new key in place of account-zerossl.pem.') in shown['file']
    assert 'The store holds it as account-zerossl.pem.pending (pushed before the CA was asked)' in shown['vault']
    assert 'The store holds it' not in shown['outside']
    assert ('It is on this controller in /secure/zerossl-new.pem only: /secure/zerossl-new.pem '
            '(autotls_account_new_key_dest) is outside the store, which does not hold it; keep that file.') in shown['outside']
    assert ('Put its content into autotls_issuers[1].account_key_content (issuer zerossl) (the vault variable, or the '
            'AWX credential of type "ACME account" that sets it).') in shown['vault']
    assert shown['contact'].strip() == 'Could not push the working copy to the store: no longer holds the lease.'
