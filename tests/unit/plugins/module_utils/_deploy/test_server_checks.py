# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Form files (one per certificate, such as HAProxy's PEM) and each server's check, on a real tree."""

import os
import stat

from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import (
    CertFile, FormFile, FormFiles, HostCertificates, Install, inspect_forms, validate_servers,
)

FILES = ('cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem')


def standard(name, version):
    return {'%s/%s' % (name, f): ('%s %s %s\n' % (name, f, version)).encode() for f in FILES}


def plan(*names):
    return [CertFile({'path': '%s/%s' % (name, f), 'mode': '0600' if f == 'privkey.pem' else '0644'})
            for name in names for f in FILES]


def forms(crt_dir, *names):
    return [FormFile({'path': '%s/%s.pem' % (crt_dir, name), 'name': name, 'mode': '0600', 'key': True,
                      'member': 'forms/%s' % name, 'servers': ['haproxy']}) for name in names]


def deploy(dest, crt_dir, names, version, run, servers):
    new = {}
    for name in names:
        new.update(standard(name, version))
        new['forms/%s' % name] = ('%s combined %s\n' % (name, version)).encode()
    with HostCertificates(str(dest)) as host:
        job = Install(host, plan(*names), new.__getitem__).run()
        written = FormFiles(forms(crt_dir, *names), new.__getitem__).run()
        rolled_back, changed = validate_servers(job, written, servers, run)
        job.commit()
    return rolled_back, changed, written


SERVERS = [{'name': 'nginx', 'kind': 'nginx', 'validate': ['nginx', '-t']},
           {'name': 'haproxy', 'kind': 'haproxy', 'validate': ['haproxy', '-c']}]


def test_every_server_is_checked_once_and_a_rejected_certificate_goes_back_for_all(tmp_path):
    dest, crt_dir = tmp_path / 'certs', tmp_path / 'haproxy'
    calls = []

    def passing(argv):
        calls.append(argv[0])
        return 0, '', ''

    rolled_back, changed, _written = deploy(dest, str(crt_dir), ['web', 'api'], 1, passing, SERVERS)
    assert rolled_back == [] and calls == ['nginx', 'haproxy']
    assert changed == {'nginx': ['web', 'api'], 'haproxy': ['web', 'api']}
    assert (crt_dir / 'web.pem').read_bytes() == b'web combined 1\n'
    assert stat.S_IMODE(os.stat(crt_dir / 'web.pem').st_mode) == 0o600
    assert [f['path'] for f in inspect_forms([str(crt_dir / 'web.pem'), str(crt_dir / 'gone.pem')])] == [
        str(crt_dir / 'web.pem')]

    # haproxy rejects api's new PEM, naming its file: api goes back everywhere, web stays;
    # then both checks run again and pass.
    calls.clear()

    def haproxy_rejects_api(argv):
        calls.append(argv[0])
        if argv[0] == 'haproxy' and (crt_dir / 'api.pem').read_bytes().endswith(b'2\n'):
            return 1, '', "[ALERT] unable to load certificate '%s/api.pem'" % crt_dir
        return 0, '', ''

    rolled_back, changed, _written = deploy(dest, str(crt_dir), ['web', 'api'], 2, haproxy_rejects_api, SERVERS)
    assert [(r['name'], r['server'], r['kind'], r['rc']) for r in rolled_back] == [('api', 'haproxy', 'haproxy', 1)]
    assert 'api.pem' in rolled_back[0]['error']
    assert sorted(rolled_back[0]['paths']) == sorted(['api/%s' % f for f in FILES] + [str(crt_dir / 'api.pem')])
    assert calls == ['nginx', 'haproxy', 'nginx', 'haproxy']
    assert changed == {'nginx': ['web'], 'haproxy': ['web']}
    assert (crt_dir / 'api.pem').read_bytes() == b'api combined 1\n'
    assert (dest / 'api' / 'cert.pem').read_bytes() == b'api cert.pem 1\n'
    assert (crt_dir / 'web.pem').read_bytes() == b'web combined 2\n'
    assert sorted(os.listdir(crt_dir)) == ['api.pem', 'web.pem']     # nothing staged left behind


def test_a_check_that_names_nothing_puts_everything_back_and_new_files_go(tmp_path):
    dest, crt_dir = tmp_path / 'certs', tmp_path / 'haproxy'

    def refuses(argv):
        return (3, '', 'config broken') if argv[0] == 'haproxy' else (0, '', '')

    rolled_back, changed, _written = deploy(dest, str(crt_dir), ['web'], 1, refuses, SERVERS)
    assert [(r['name'], r['server']) for r in rolled_back] == [('web', 'haproxy')]
    assert 'named no certificate of this run' in rolled_back[0]['error']
    assert changed == {'nginx': [], 'haproxy': []}
    assert os.listdir(crt_dir) == [] and not (dest / 'web').exists()


def test_a_server_without_check_and_unchanged_files_run_nothing(tmp_path):
    dest, crt_dir = tmp_path / 'certs', tmp_path / 'haproxy'
    never = []
    servers = [{'name': 'custom', 'kind': 'custom', 'validate': []}]
    deploy(dest, str(crt_dir), ['web'], 1, lambda argv: never.append(argv) or (1, '', ''), servers)
    rolled_back, changed, written = deploy(dest, str(crt_dir), ['web'], 1, never.append, SERVERS)
    assert never == [] and rolled_back == [] and written.written == []
    assert changed == {'nginx': [], 'haproxy': []}
