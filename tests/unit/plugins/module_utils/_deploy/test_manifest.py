# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's manifest of what the collection wrote, and taking a retired certificate off a host."""

import hashlib
import json
import os

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import HostCertificates
from ansible_collections.autotls.acme.plugins.module_utils._deploy.manifest import (
    MANIFEST, kept_message, read_manifest, record, retire, timed_run,
)

NGINX = [{'name': 'nginx', 'kind': 'nginx', 'validate': ['nginx', '-t']}]


class Run:
    """The checks run (argv), each answering rc 0 unless told otherwise; ``seen`` records what was gone."""

    def __init__(self, answers=None, look=None):
        self.answers, self.look, self.calls, self.seen = answers or {}, look, [], []

    def __call__(self, argv):
        self.calls.append(argv[0])
        if self.look:
            self.seen.append(self.look())
        return self.answers.get(argv[0], (0, '', ''))


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


def test_the_files_the_servers_read_are_recorded_and_added_to(host_dirs):
    certs, _conf = host_dirs
    with HostCertificates(str(certs)) as host:
        assert record(host, ['app1', 'old'], files={'old': ['/etc/haproxy/certs/old.pem']}) == ['old']
        assert record(host, ['old'], files={'old': ['/etc/haproxy/certs/old.pem']}) == []
        assert record(host, ['old'], files={'old': ['/srv/a/old.pem']}) == ['old']
        assert read_manifest(host)['old']['files'] == ['/etc/haproxy/certs/old.pem', '/srv/a/old.pem']
        assert read_manifest(host)['app1']['files'] == []
        with pytest.raises(AutoTLSError, match='not an absolute file path'):
            record(host, ['old'], files={'old': ['../etc/passwd']})


def test_retire_takes_off_the_server_block_then_the_files_only_of_what_the_manifest_lists(host_dirs):
    certs, conf = host_dirs
    run = Run(look=lambda: (sorted(os.listdir(conf)), (certs / 'old').exists()))
    with HostCertificates(str(certs), check_mode=True) as host:
        planned = retire(host, ['old', 'handmade'], NGINX, run, str(conf), 'autotls-tls-')
    assert planned['retired'] == ['old'] and planned['not_ours'] == ['handmade']
    assert planned['paths'] == [str(conf / 'autotls-tls-old.conf'), str(certs / 'old')]
    assert (certs / 'old').is_dir() and (conf / 'autotls-tls-old.conf').exists() and run.calls == []
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old', 'handmade'], NGINX, run, str(conf), 'autotls-tls-')
        assert sorted(read_manifest(host)) == ['app1']
    assert done['paths'] == [str(conf / 'autotls-tls-old.conf'), str(certs / 'old')]
    assert done['reload'] == ['nginx'] and done['kept'] == []
    # The check ran without the server block and without the files.
    assert run.seen == [(['autotls-tls-app1.conf', 'autotls-tls-handmade.conf', 'other.conf'], False)]
    assert sorted(os.listdir(certs)) == [MANIFEST, 'app1', 'handmade']
    assert (conf / 'other.conf').exists()


def test_a_failing_check_puts_the_server_block_back_and_removes_nothing(host_dirs):
    certs, conf = host_dirs
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], NGINX, Run({'nginx': (1, '', 'nginx: [emerg] something')}), str(conf),
                      'autotls-tls-')
        assert sorted(read_manifest(host)) == ['app1', 'old']
    assert done['retired'] == [] and done['reload'] == [] and done['paths'] == []
    assert done['kept'] == [dict(name='old', server='nginx', kind='nginx', rc=1, command='nginx -t',
                                 error='nginx: [emerg] something', named=False)]
    assert kept_message(done['kept']).startswith(
        "Retiring certificate(s) old failed the check of server nginx (kind nginx) 'nginx -t' (exit 1)")
    assert (conf / 'autotls-tls-old.conf').read_text() == 'server old'
    assert (certs / 'old' / 'fullchain.pem').exists()


def test_a_configuration_that_still_reads_the_files_keeps_them(host_dirs):
    # The operator's own server (not the collection's block) reads old's files: nginx -t
    # must see them gone, or the next reload fails after retirement removed them.
    certs, conf = host_dirs
    (conf / 'own.conf').write_text('ssl_certificate %s;' % (certs / 'old' / 'fullchain.pem'))

    def nginx_t(_argv):
        for conf_file in conf.iterdir():
            text = conf_file.read_text()
            if text.startswith('ssl_certificate ') and not os.path.exists(text.split()[1].rstrip(';')):
                return 1, '', 'nginx: [emerg] cannot load certificate "%s"' % text.split()[1].rstrip(';')
        return 0, '', ''

    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], NGINX, nginx_t, str(conf), 'autotls-tls-')
        assert sorted(read_manifest(host)) == ['app1', 'old']
    assert done['kept'][0]['named'] is True and 'cannot load certificate' in done['kept'][0]['error']
    assert (certs / 'old' / 'fullchain.pem').read_text() == 'chain of old'
    assert (conf / 'autotls-tls-old.conf').read_text() == 'server old'
    assert sorted(os.listdir(certs)) == [MANIFEST, 'app1', 'handmade', 'old']


def test_a_retirement_that_stopped_after_moving_the_files_aside_is_finished(host_dirs):
    certs, conf = host_dirs
    os.rename(certs / 'old', certs / '.autotls-old.old')      # stopped before nginx -t
    with HostCertificates(str(certs)) as host:
        retire(host, ['old'], NGINX, Run(), str(conf), 'autotls-tls-')
        assert sorted(read_manifest(host)) == ['app1']
    assert sorted(os.listdir(certs)) == [MANIFEST, 'app1', 'handmade']


def test_a_server_block_that_is_a_link_is_refused(host_dirs, tmp_path):
    certs, conf = host_dirs
    os.unlink(conf / 'autotls-tls-old.conf')
    os.symlink(tmp_path / 'elsewhere', conf / 'autotls-tls-old.conf')
    with HostCertificates(str(certs)) as host:
        with pytest.raises(AutoTLSError, match='is a symbolic link'):
            retire(host, ['old'], NGINX, Run(), str(conf), 'autotls-tls-')
    assert (certs / 'old').is_dir()


def test_a_server_that_is_not_an_entry_of_the_model_is_refused(host_dirs):
    certs, conf = host_dirs
    with HostCertificates(str(certs)) as host:
        with pytest.raises(AutoTLSError, match='kind one of apache, custom, haproxy, nginx, traefik'):
            retire(host, ['old'], [{'name': 'x', 'kind': 'lighttpd'}], Run(), str(conf), 'autotls-tls-')
    assert (conf / 'autotls-tls-old.conf').exists()


def test_the_content_of_each_recorded_file_is_recorded_and_follows_a_new_deployment(host_dirs, tmp_path):
    certs, _conf = host_dirs
    pem = tmp_path / 'old.pem'
    pem.write_text('first')
    with HostCertificates(str(certs)) as host:
        assert record(host, ['old'], files={'old': [str(pem), str(tmp_path / 'absent.pem')]}) == ['old']
        assert read_manifest(host)['old']['sha256'] == {str(pem): hashlib.sha256(b'first').hexdigest()}
        assert record(host, ['old']) == []
        pem.write_text('renewed')                       # the next deployment wrote it again
        assert record(host, ['old']) == ['old']
        assert read_manifest(host)['old']['sha256'] == {str(pem): hashlib.sha256(b'renewed').hexdigest()}


def test_a_check_that_does_not_finish_is_stopped_and_fails(tmp_path):
    run = timed_run(1)
    rc, _out, err = run(['sleep', '30'])
    assert rc == 124 and 'sleep 30 did not finish within 1 s (check_timeout)' in err
    assert run(['sh', '-c', 'echo fine; echo oops >&2; exit 3']) == (3, 'fine\n', 'oops\n')
    assert run([str(tmp_path / 'no-such-check')])[0] == 127
    for bad in (0, 3601, '60', True):
        with pytest.raises(AutoTLSError, match='check_timeout must be a number of seconds from 1 to 3600'):
            timed_run(bad)
