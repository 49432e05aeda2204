# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's manifest of what the collection wrote, and taking a retired certificate off a host."""

import json
import os

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import HostCertificates
from ansible_collections.autotls.acme.plugins.module_utils._deploy.manifest import MANIFEST, read_manifest, record, retire


@pytest.fixture
def host_dirs(tmp_path):
    """certs/ with app1, old and handmade (not the collection's); conf.d/ with their server blocks."""
    certs, conf = tmp_path / 'certs', tmp_path / 'conf.d'
    for name in ('app1', 'old', 'handmade'):
        (certs / name).mkdir(parents=True)
        (certs / name / 'fullchain.pem').write_text('chain of %s' % name)
        (conf.mkdir(exist_ok=True) or conf / ('autotls-tls-%s.conf' % name)).write_text('server %s' % name)
    (conf / 'other.conf').write_text('not ours')
    with HostCertificates(str(certs)) as host:
        assert record(host, ['app1', 'old', 'missing']) == ['app1', 'old']     # only what is there
        assert record(host, ['app1']) == []
    return certs, conf


def test_the_manifest_lists_what_was_recorded(host_dirs):
    certs, _conf = host_dirs
    with HostCertificates(str(certs)) as host:
        assert sorted(read_manifest(host)) == ['app1', 'old']
    assert oct(os.stat(certs / MANIFEST).st_mode & 0o777) == '0o600'
    assert json.loads((certs / MANIFEST).read_text())['version'] == 1


def test_retire_takes_off_the_server_block_then_the_files_only_of_what_the_manifest_lists(host_dirs):
    certs, conf = host_dirs
    checks = []

    def check():
        checks.append(sorted(os.listdir(conf)))
        assert not (certs / 'old').exists()
        return 0, '', ''

    with HostCertificates(str(certs), check_mode=True) as host:
        planned = retire(host, ['old', 'handmade'], str(conf), 'autotls-tls-', check)
    assert planned['retired'] == ['old'] and planned['not_ours'] == ['handmade']
    assert (certs / 'old').is_dir() and checks == []                     # check mode: nothing
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old', 'handmade'], str(conf), 'autotls-tls-', check)
        assert sorted(read_manifest(host)) == ['app1']
    assert done['paths'] == [str(conf / 'autotls-tls-old.conf'), str(certs / 'old')]
    # The check ran without the server block and without the files.
    assert checks == [['autotls-tls-app1.conf', 'autotls-tls-handmade.conf', 'other.conf']]
    assert sorted(os.listdir(certs)) == [MANIFEST, 'app1', 'handmade']
    assert (conf / 'other.conf').exists()


def test_a_failing_check_puts_the_server_block_back_and_removes_nothing(host_dirs):
    certs, conf = host_dirs
    with HostCertificates(str(certs)) as host:
        with pytest.raises(AutoTLSError, match='Without the server blocks and files of old the check fails'):
            retire(host, ['old'], str(conf), 'autotls-tls-', lambda: (1, '', 'nginx: [emerg] something'))
        assert sorted(read_manifest(host)) == ['app1', 'old']
    assert (conf / 'autotls-tls-old.conf').read_text() == 'server old'
    assert (certs / 'old' / 'fullchain.pem').exists()


def test_a_configuration_that_still_reads_the_files_keeps_them(host_dirs):
    # The operator's own server (not the collection's block) reads old's files: nginx -t
    # must see them gone, or the next reload fails after retirement removed them.
    certs, conf = host_dirs
    (conf / 'own.conf').write_text('ssl_certificate %s;' % (certs / 'old' / 'fullchain.pem'))

    def nginx_t():
        for conf_file in conf.iterdir():
            text = conf_file.read_text()
            if text.startswith('ssl_certificate ') and not os.path.exists(text.split()[1].rstrip(';')):
                return 1, '', 'nginx: [emerg] cannot load certificate "%s"' % text.split()[1].rstrip(';')
        return 0, '', ''

    with HostCertificates(str(certs)) as host:
        with pytest.raises(AutoTLSError, match='cannot load certificate'):
            retire(host, ['old'], str(conf), 'autotls-tls-', nginx_t)
        assert sorted(read_manifest(host)) == ['app1', 'old']
    assert (certs / 'old' / 'fullchain.pem').read_text() == 'chain of old'
    assert (conf / 'autotls-tls-old.conf').read_text() == 'server old'
    assert sorted(os.listdir(certs)) == [MANIFEST, 'app1', 'handmade', 'old']


def test_a_retirement_that_stopped_after_moving_the_files_aside_is_finished(host_dirs):
    certs, conf = host_dirs
    os.rename(certs / 'old', certs / '.autotls-old.old')      # stopped before nginx -t
    with HostCertificates(str(certs)) as host:
        retire(host, ['old'], str(conf), 'autotls-tls-', lambda: (0, '', ''))
        assert sorted(read_manifest(host)) == ['app1']
    assert sorted(os.listdir(certs)) == [MANIFEST, 'app1', 'handmade']


def test_a_server_block_that_is_a_link_is_refused(host_dirs, tmp_path):
    certs, conf = host_dirs
    os.unlink(conf / 'autotls-tls-old.conf')
    os.symlink(tmp_path / 'elsewhere', conf / 'autotls-tls-old.conf')
    with HostCertificates(str(certs)) as host:
        with pytest.raises(AutoTLSError, match='is a symbolic link'):
            retire(host, ['old'], str(conf), 'autotls-tls-', None)
    assert (certs / 'old').is_dir()
