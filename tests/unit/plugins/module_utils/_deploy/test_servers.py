# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TLS server files on a real directory: written at once, checked, put back when rejected, pruned."""

import os
import stat

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._deploy import servers as module
from ansible_collections.autotls.acme.plugins.module_utils._deploy.servers import ServerFiles, apply

PREFIX = 'autotls-tls-'


def servers(**contents):
    return [{'name': name, 'content': content} for name, content in contents.items()]


def files(tmp_path, **contents):
    return ServerFiles(str(tmp_path), PREFIX, servers(**contents))


def read(tmp_path, name):
    return (tmp_path / (PREFIX + name + '.conf')).read_text()


class Check:
    def __init__(self, rc=0, err=''):
        self.rc, self.err, self.calls = rc, err, 0

    def __call__(self):
        self.calls += 1
        return self.rc, '', self.err


def test_writes_what_differs_checks_once_and_prunes_the_rest(tmp_path):
    (tmp_path / 'autotls-tls-gone.conf').write_text('old server')
    (tmp_path / 'other.conf').write_text('not ours')
    check = Check()
    result = apply(files(tmp_path, a='server a', b='server b'), check)
    assert result['written'] == ['a', 'b'] and not result['rejected'] and check.calls == 1
    assert read(tmp_path, 'a') == 'server a'
    assert stat.S_IMODE(os.stat(tmp_path / 'autotls-tls-a.conf').st_mode) == 0o644
    assert result['removed'] == [str(tmp_path / 'autotls-tls-gone.conf')]
    assert sorted(os.listdir(tmp_path)) == ['autotls-tls-a.conf', 'autotls-tls-b.conf', 'other.conf']
    # A second run with the same contents writes nothing and runs no check.
    again = Check()
    assert apply(files(tmp_path, a='server a', b='server b'), again)['written'] == [] and again.calls == 0


def test_a_rejected_set_is_put_back_whole_and_nothing_is_pruned(tmp_path):
    apply(files(tmp_path, site='good site', stale='stale'), Check())
    check = Check(rc=1, err='nginx: [emerg] unknown directive "no_such_directive"\n')
    result = apply(files(tmp_path, site='broken site', fresh='fresh server'), check)
    assert result['rejected'] and result['written'] == ['site', 'fresh']
    assert 'no_such_directive' in result['error']
    assert read(tmp_path, 'site') == 'good site'
    assert sorted(os.listdir(tmp_path)) == ['autotls-tls-site.conf', 'autotls-tls-stale.conf']


def test_a_write_failure_puts_back_what_was_written(tmp_path, monkeypatch):
    apply(files(tmp_path, a='a1', b='b1'), Check())
    real = module.atomic_write
    calls = []

    def failing(path, data, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, 'No space left on device')
        return real(path, data, **kwargs)
    monkeypatch.setattr(module, 'atomic_write', failing)
    with pytest.raises(OSError):
        apply(files(tmp_path, a='a2', b='b2'), Check())
    monkeypatch.setattr(module, 'atomic_write', real)
    assert read(tmp_path, 'a') == 'a1' and read(tmp_path, 'b') == 'b1'


def test_check_mode_reports_and_changes_nothing(tmp_path):
    (tmp_path / 'autotls-tls-gone.conf').write_text('old')
    check = Check()
    result = apply(files(tmp_path, new='x'), check, check_mode=True)
    assert result['written'] == ['new'] and result['removed'] == [str(tmp_path / 'autotls-tls-gone.conf')]
    assert check.calls == 0 and sorted(os.listdir(tmp_path)) == ['autotls-tls-gone.conf']


@pytest.mark.parametrize('entry, words', [
    ({'name': '../etc', 'content': 'x'}, 'servers[0].name'),
    ({'name': '', 'content': 'x'}, 'servers[0].name'),
    ({'name': 'ok', 'content': None}, 'servers[0].content'),
])
def test_bad_entries_are_refused(tmp_path, entry, words):
    with pytest.raises(ConfigurationError) as error:
        ServerFiles(str(tmp_path), PREFIX, [entry])
    assert words in error.value.msg


@pytest.mark.parametrize('prefix', ['', '../', 'a/b-', None])
def test_a_prefix_that_would_prune_others_files_is_refused(tmp_path, prefix):
    (tmp_path / 'default.conf').write_text('not ours')
    with pytest.raises(ConfigurationError) as info:
        ServerFiles(str(tmp_path), prefix, servers(a='server a'))
    assert 'prefix %r must be a plain file name prefix' % (prefix,) in str(info.value)
    assert (tmp_path / 'default.conf').read_text() == 'not ours'
