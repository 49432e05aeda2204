# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retirement for every server kind, on a real tree: each kind's own files for the certificate go
(those the manifest recorded), each server is checked with them gone, a failure puts all back."""

import errno
import hashlib
import os
import stat

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._deploy import traefik
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import FormFiles, HostCertificates
from ansible_collections.autotls.acme.plugins.module_utils._deploy.kinds import KINDS
from ansible_collections.autotls.acme.plugins.module_utils._deploy.manifest import read_manifest, record, retire
from ansible_collections.autotls.acme.plugins.module_utils._model.servers import validate_servers


class Run:
    """Each check answers from ``answers`` (rc 0 otherwise) and notes which of ``watch`` existed then."""

    def __init__(self, watch=(), answers=None):
        self.watch, self.answers, self.calls = watch, answers or {}, []

    def __call__(self, argv):
        self.calls.append((argv[0], [os.path.exists(path) for path in self.watch]))
        return self.answers.get(argv[0], (0, '', ''))


@pytest.fixture
def edge(tmp_path):
    """A host served by nginx, HAProxy, Apache, a custom server and Traefik, with web and old deployed."""
    root = str(tmp_path)
    servers = validate_servers([
        'nginx',
        {'kind': 'haproxy', 'crt_dir': root + '/haproxy', 'config': root + '/haproxy.cfg'},
        {'kind': 'apache', 'conf_dir': root + '/sites'},
        {'kind': 'custom', 'name': 'bundle', 'files': [{'path': root + '/bundle/{name}.pem', 'parts': ['fullchain', 'key']}],
         'validate': ['bundle-check'], 'reload': ['bundle-reload']},
        {'kind': 'traefik', 'dynamic_dir': root + '/dynamic'},
    ])
    certs = tmp_path / 'certs'
    for directory in ('haproxy', 'sites', 'bundle', 'dynamic', 'conf.d'):
        (tmp_path / directory).mkdir()
    files = {}
    for name in ('web', 'old'):
        (certs / name).mkdir(parents=True)
        (certs / name / 'fullchain.pem').write_text('chain of %s' % name)
        (tmp_path / 'conf.d' / ('autotls-tls-%s.conf' % name)).write_text('server %s' % name)
        files[name] = [path for server in servers for path in KINDS[server['kind']].retired_paths(server, name)]
        for path in files[name]:
            with open(path, 'w') as handle:
                handle.write('%s of %s' % (os.path.basename(path), name))
            os.chmod(path, 0o600)
    with HostCertificates(str(certs)) as host:
        record(host, ['web', 'old'], files=files)
    return tmp_path, servers, files


def test_each_kind_names_the_files_it_writes_for_a_certificate(edge):
    tmp_path, _servers, files = edge
    root = str(tmp_path)
    assert files['old'] == [root + '/haproxy/old.pem', root + '/sites/autotls-old.conf', root + '/bundle/old.pem',
                            root + '/dynamic/autotls-old.yml']
    assert KINDS['nginx'].retired_paths({'name': 'nginx'}, 'old') == []   # its server block: nginx_tls's prefix


def test_every_kind_loses_its_files_each_server_is_checked_without_them_and_reloaded_once(edge):
    tmp_path, servers, files = edge
    certs, conf = tmp_path / 'certs', tmp_path / 'conf.d'
    gone = [str(conf / 'autotls-tls-old.conf')] + sorted(files['old']) + [str(certs / 'old')]   # as recorded
    run = Run(watch=gone + files['web'])
    with HostCertificates(str(certs), check_mode=True) as host:
        planned = retire(host, ['old'], servers, run, str(conf), 'autotls-tls-')
    assert planned['paths'] == gone and run.calls == [] and all(os.path.exists(path) for path in gone)
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], servers, run, str(conf), 'autotls-tls-')
        assert sorted(read_manifest(host)) == ['web']
    assert done['retired'] == ['old'] and done['paths'] == gone and done['kept'] == []
    # nginx, HAProxy, Apache and the custom server ran their check once each, with all of old gone
    # and all of web in place (Traefik checks in Python, see below).
    assert run.calls == [(cmd, [False] * len(gone) + [True] * len(files['web']))
                         for cmd in ('nginx', 'haproxy', 'apache2ctl', 'bundle-check')]
    assert done['reload'] == ['nginx', 'haproxy', 'apache', 'bundle', 'traefik']
    assert not any(os.path.exists(path) for path in gone)
    assert all(os.path.exists(path) for path in files['web'])


def test_a_check_that_fails_without_them_puts_every_kind_s_files_back(edge):
    tmp_path, servers, files = edge
    certs, conf = tmp_path / 'certs', tmp_path / 'conf.d'
    pem = files['old'][0]
    before = {path: (open(path).read(), os.stat(path)) for path in files['old']}
    answer = (1, '', "[ALERT] config : unable to stat SSL certificate from file '%s'" % pem)
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], servers, Run(answers={'haproxy': answer}), str(conf), 'autotls-tls-')
        assert sorted(read_manifest(host)) == ['old', 'web']
    assert done['retired'] == [] and done['reload'] == [] and done['paths'] == []
    assert [(k['name'], k['server'], k['kind'], k['rc'], k['named']) for k in done['kept']] == [
        ('old', 'haproxy', 'haproxy', 1, True)]
    assert done['kept'][0]['command'] == 'haproxy -c -f %s/haproxy.cfg' % tmp_path
    for path, (text, st) in before.items():
        assert open(path).read() == text
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.stat(path).st_uid == st.st_uid
    assert (conf / 'autotls-tls-old.conf').read_text() == 'server old'
    assert (certs / 'old' / 'fullchain.pem').read_text() == 'chain of old'


def test_traefik_fails_when_another_dynamic_file_still_names_the_files(edge):
    tmp_path, servers, files = edge
    certs = tmp_path / 'certs'
    own = tmp_path / 'dynamic' / 'routers.yml'
    own.write_text('tls:\n  certificates:\n    - certFile: %s/old/fullchain.pem\n' % certs)
    traefik_only = [server for server in servers if server['kind'] == 'traefik']
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], traefik_only, Run(), None, None)
    assert [(k['name'], k['kind'], k['command'], k['named']) for k in done['kept']] == [
        ('old', 'traefik', '(checked in Python)', True)]
    assert ('%s names %s/old/' % (own, certs)) in done['kept'][0]['error']
    assert all(os.path.exists(path) for path in files['old'])
    own.unlink()
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], traefik_only, Run(), None, None)
    assert done['retired'] == ['old'] and not os.path.exists(files['old'][3])
    # nginx is not among the servers: its server block is not the collection's to remove here.
    assert (tmp_path / 'conf.d' / 'autotls-tls-old.conf').exists()


def test_traefik_check_reads_the_watched_tree_but_not_hidden_files(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / '.autotls-touch-x').write_text('/c/old/fullchain.pem')
    server = {'name': 'edge', 'dynamic_dir': str(tmp_path)}
    assert traefik.retirement_check(server, '/c', ['old']) == (0, '', '')
    (tmp_path / 'sub' / 'more.toml').write_text('certFile = "/c/old/fullchain.pem"')
    rc, _out, err = traefik.retirement_check(server, '/c/', ['old', 'web'])
    assert rc == 1 and err == ('Traefik (server edge) would no longer find files it is told to serve: %s/sub/more.toml '
                               'names /c/old/.' % tmp_path)
    assert traefik.retirement_check({'name': 'edge', 'dynamic_dir': str(tmp_path / 'none')}, '/c', ['old'])[0] == 0


def test_a_certificate_recorded_before_files_were_loses_what_its_servers_write_now(edge):
    tmp_path, servers, files = edge
    certs = tmp_path / 'certs'
    manifest = certs / '.autotls-manifest.json'
    manifest.write_text(manifest.read_text().replace('"files"', '"was"'))
    with HostCertificates(str(certs)) as host:
        assert 'files' not in read_manifest(host)['old']
        done = retire(host, ['old'], servers, Run(), None, None)
    assert done['retired'] == ['old'] and not any(os.path.exists(path) for path in files['old'])
    assert all(os.path.exists(path) for path in files['web'])


def test_only_recorded_files_go(edge):
    tmp_path, servers, files = edge
    certs = tmp_path / 'certs'
    with HostCertificates(str(certs)) as host:
        # old was deployed before HAProxy served it: only the files recorded then go.
        manifest = read_manifest(host)
    data = (certs / '.autotls-manifest.json').read_text().replace('"%s",' % files['old'][0], '')
    (certs / '.autotls-manifest.json').write_text(data)
    with HostCertificates(str(certs)) as host:
        assert read_manifest(host)['old']['files'] != manifest['old']['files']
        done = retire(host, ['old'], servers, Run(), None, None)
    assert done['retired'] == ['old'] and os.path.exists(files['old'][0])
    assert not any(os.path.exists(path) for path in files['old'][1:])


def _sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_a_file_changed_since_it_was_recorded_is_left_and_reported(edge):
    tmp_path, servers, files = edge
    certs, conf = tmp_path / 'certs', tmp_path / 'conf.d'
    changed = files['old'][0]                       # HAProxy's PEM, edited by the operator since
    with HostCertificates(str(certs)) as host:
        assert read_manifest(host)['old']['sha256'] == {path: _sha256(path) for path in files['old']}
    with open(changed, 'a') as handle:
        handle.write('# the operator\'s own line\n')
    with HostCertificates(str(certs), check_mode=True) as host:
        planned = retire(host, ['old'], servers, Run(), str(conf), 'autotls-tls-')
    assert planned['left'] == [{'name': 'old', 'path': changed}] and changed not in planned['paths']
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], servers, Run(), str(conf), 'autotls-tls-')
        assert sorted(read_manifest(host)) == ['web']
    assert done['retired'] == ['old'] and done['left'] == [{'name': 'old', 'path': changed}]
    assert open(changed).read().endswith('# the operator\'s own line\n')
    assert not any(os.path.exists(path) for path in files['old'][1:]) and not (certs / 'old').exists()


def test_a_manifest_without_checksums_removes_the_listed_files_whatever_they_hold(edge):
    tmp_path, servers, files = edge
    certs = tmp_path / 'certs'
    manifest = certs / '.autotls-manifest.json'
    manifest.write_text(manifest.read_text().replace('"sha256"', '"was"'))
    with open(files['old'][0], 'a') as handle:
        handle.write('changed')
    with HostCertificates(str(certs)) as host:
        done = retire(host, ['old'], servers, Run(), None, None)
    assert done['left'] == [] and not any(os.path.exists(path) for path in files['old'])


def test_putting_back_goes_on_past_a_path_it_cannot_restore_and_names_each(edge, monkeypatch):
    tmp_path, servers, files = edge
    certs, conf = tmp_path / 'certs', tmp_path / 'conf.d'
    stuck = files['old'][:2]                        # HAProxy's PEM and Apache's virtual host
    write = FormFiles._write

    def failing_write(self, item, entry):
        if item.path in stuck:
            raise OSError(errno.EROFS, 'Read-only file system')
        return write(self, item, entry)

    monkeypatch.setattr(FormFiles, '_write', failing_write)
    answer = (1, '', 'bundle-check: no')
    with HostCertificates(str(certs)) as host:
        with pytest.raises(AutoTLSError) as caught:
            retire(host, ['old'], servers, Run(answers={'bundle-check': answer}), str(conf), 'autotls-tls-')
        assert sorted(read_manifest(host)) == ['old', 'web']
    assert sorted(caught.value.details['not_restored']) == sorted(stuck)
    for path in stuck:
        assert '%s (Read-only file system)' % path in caught.value.msg
    assert 'after: the check of server bundle failed' in caught.value.msg
    # Everything else is back: the other kinds' files, nginx's server block, the directory.
    for path in files['old'][2:]:
        assert open(path).read() == '%s of old' % os.path.basename(path)
    assert (conf / 'autotls-tls-old.conf').read_text() == 'server old'
    assert (certs / 'old' / 'fullchain.pem').read_text() == 'chain of old'
