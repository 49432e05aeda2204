# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""After a rollover of a vault key, the operator is told where the new key is: in AWX, the S3 object."""

from ansible_collections.autotls.acme.plugins.module_utils._acme.account import new_account_key
from ansible_collections.autotls.acme.plugins.module_utils._store.store import WorkingCopy, sha256_hex, stored_object
from ansible_collections.autotls.acme.plugins.modules.account import next_steps

URL = 's3://example-autotls/prod/'
OBJECT = 'account-zerossl.pem.pending.20261201T230000Z-0a1b2c3d'


def _store_with_new_key(tmp_path, pushed=True):
    copy = WorkingCopy(str(tmp_path / 'store'))
    key = new_account_key('ec256')
    copy.write('account-zerossl.pem.pending', key)
    snapshot = {'account-zerossl.pem.pending': {'sha256': sha256_hex(key if pushed else b'older'), 'key': OBJECT}}
    copy.write_state(URL, 'etag', snapshot, {})
    return copy.abspath('account-zerossl.pem.pending')


def test_the_s3_object_of_the_new_key_is_named_as_the_manifest_names_it(tmp_path):
    path = _store_with_new_key(tmp_path)
    assert stored_object(path) == (URL + OBJECT, True)
    shown = next_steps('https://acme.zerossl.com/v2/DV90', 'zerossl', path,
                       'autotls_issuers[1].account_key_content (issuer zerossl)')
    assert 'and in the S3 store as %s%s.' % (URL, OBJECT) in shown
    assert 'aws s3 cp %s%s -' % (URL, OBJECT) in shown and 'docs/awx.md' in shown
    assert 'where autotls_issuers[1].account_key_content (issuer zerossl) comes from' in shown


def test_a_new_key_not_yet_pushed_is_named_by_its_path_in_the_store(tmp_path):
    path = _store_with_new_key(tmp_path, pushed=False)
    assert stored_object(path) == (URL + 'account-zerossl.pem.pending', False)
    assert 'uploaded by the push at the end of this run' in next_steps('https://ca.test/dir', 'zerossl', path, 'x')


def test_outside_an_s3_store_only_the_path_is_named(tmp_path):
    local = WorkingCopy(str(tmp_path / 'local'))
    local.write('account.pem.pending', new_account_key('ec256'))
    assert stored_object(local.abspath('account.pem.pending')) is None
    shown = next_steps('https://ca.test/dir', 'first', local.abspath('account.pem.pending'), 'autotls_account_key_content')
    assert 'now has the key in %s. Put its content' % local.abspath('account.pem.pending') in shown
    assert 's3://' not in shown and 'aws s3 cp' not in shown
