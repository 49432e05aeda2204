# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP-01 tokens on a real directory: all written or removed in one run, bad input refused before a write."""

import os
import re
import stat

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.http01 import UnsafePath, place, remove

THUMB = 'Zm9vYmFyYmF6cXV4-_0123456789abcdefghijklmnop'


def token(name, host='web1'):
    return {'host': host, 'certificate': 'svc', 'domain': 'svc.example.test', 'token': name,
            'path': '.well-known/acme-challenge/' + name, 'key_authorization': '%s.%s' % (name, THUMB)}


def test_place_writes_every_token_and_makes_the_directories(tmp_path):
    webroot = tmp_path / 'acme'
    changed = place(str(webroot), [token('tok-A_1'), token('tokB')])
    assert changed == ['.well-known/acme-challenge/tok-A_1', '.well-known/acme-challenge/tokB']
    directory = webroot / '.well-known' / 'acme-challenge'
    assert (directory / 'tokB').read_text() == 'tokB.' + THUMB
    assert stat.S_IMODE(os.stat(directory / 'tok-A_1').st_mode) == 0o644
    for path in (webroot, webroot / '.well-known', directory):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o755
    # Again: nothing to do.
    assert place(str(webroot), [token('tok-A_1'), token('tokB')]) == []


def test_check_mode_writes_nothing(tmp_path):
    assert place(str(tmp_path), [token('tokC')], check_mode=True) == ['.well-known/acme-challenge/tokC']
    assert not (tmp_path / '.well-known').exists()


def test_remove_takes_only_the_listed_tokens(tmp_path):
    place(str(tmp_path), [token('one'), token('two'), token('three')])
    assert remove(str(tmp_path), [token('one'), token('three'), token('never')]) == [
        '.well-known/acme-challenge/one', '.well-known/acme-challenge/three']
    assert sorted(os.listdir(tmp_path / '.well-known' / 'acme-challenge')) == ['two']
    assert remove(str(tmp_path), [token('one')]) == []


@pytest.mark.parametrize('entry, words', [
    (dict(token('ok'), token='../etc/passwd'), 'tokens[1].token'),
    (dict(token('ok'), token=''), 'tokens[1].token'),
    (dict(token('ok'), path='.well-known/acme-challenge/other'), 'tokens[1].path'),
    (dict(token('ok'), key_authorization='other.' + THUMB), 'tokens[1].key_authorization'),
    (dict(token('ok'), key_authorization='ok.bad thumb'), 'tokens[1].key_authorization'),
    (dict(token('ok'), key_authorization=None), 'tokens[1].key_authorization'),
])
def test_bad_entries_are_refused_before_anything_is_written(tmp_path, entry, words):
    with pytest.raises(ConfigurationError) as error:
        place(str(tmp_path), [token('first'), entry])
    assert words in error.value.msg
    assert not (tmp_path / '.well-known').exists()


def test_remove_needs_no_key_authorization_but_refuses_a_bad_token(tmp_path):
    place(str(tmp_path), [token('gone')])
    assert remove(str(tmp_path), [{'token': 'gone'}]) == ['.well-known/acme-challenge/gone']
    with pytest.raises(ConfigurationError, match='tokens.0..token'):
        remove(str(tmp_path), [{'token': 'a/b'}])


@pytest.mark.parametrize('linked', ['.well-known', '.well-known/acme-challenge'])
def test_no_token_is_written_or_removed_through_a_symlink(tmp_path, linked):
    """A link under the webroot (made by whoever can write there) must not send root's writes elsewhere."""
    webroot, elsewhere = tmp_path / 'acme', tmp_path / 'etc'
    (elsewhere / 'acme-challenge').mkdir(parents=True)
    (elsewhere / 'acme-challenge' / 'victim').write_text('keep me')
    os.makedirs(webroot / os.path.dirname(linked), exist_ok=True)
    os.symlink(elsewhere if linked == '.well-known' else elsewhere / 'acme-challenge', webroot / linked)
    with pytest.raises(UnsafePath, match=r'Refusing to write the HTTP-01 tokens into .*%s under the webroot'
                                         % re.escape(linked)):
        place(str(webroot), [token('tokA')])
    with pytest.raises(UnsafePath, match='symbolic link'):
        place(str(webroot), [token('tokA')], check_mode=True)
    with pytest.raises(UnsafePath, match='Refusing to remove'):
        remove(str(webroot), [dict(token('victim'), key_authorization=None)])
    assert sorted(os.listdir(elsewhere / 'acme-challenge')) == ['victim']
    assert (elsewhere / 'acme-challenge' / 'victim').read_text() == 'keep me'


def test_a_link_in_a_tokens_place_is_replaced_not_followed(tmp_path):
    outside = tmp_path / 'secret'
    outside.write_text('tokL.' + THUMB)     # same content: the old code only chmod-ed the link's target
    os.chmod(outside, 0o600)
    directory = tmp_path / 'acme' / '.well-known' / 'acme-challenge'
    directory.mkdir(parents=True)
    os.symlink(outside, directory / 'tokL')
    assert place(str(tmp_path / 'acme'), [token('tokL')]) == ['.well-known/acme-challenge/tokL']
    assert not os.path.islink(directory / 'tokL') and (directory / 'tokL').read_text() == 'tokL.' + THUMB
    assert stat.S_IMODE(os.stat(outside).st_mode) == 0o600
    os.unlink(directory / 'tokL')
    os.symlink(outside, directory / 'tokL')
    assert remove(str(tmp_path / 'acme'), [token('tokL')]) == ['.well-known/acme-challenge/tokL']
    assert outside.read_text() == 'tokL.' + THUMB and not os.path.lexists(directory / 'tokL')
