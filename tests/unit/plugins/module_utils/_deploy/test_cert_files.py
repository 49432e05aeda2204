# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cert_files on a real directory tree: whole sets, checks that isolate, and hostile hosts."""

import errno
import grp
import hashlib
import os
import pwd
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.autotls.acme.plugins.module_utils._common import fileset
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError, ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.fileset import UnsafePathError
from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import (
    CertFile, FormFile, FormFiles, HostCertificates, Install, check_previous_dir, inspect, put_back,
)
from ansible_collections.autotls.acme.plugins.module_utils._deploy.plan import deploy_plan
from testbed.tls import cert_pem, key_pem, make_ca, make_server_cert

NOGROUP = grp.getgrnam('nogroup').gr_gid if 'nogroup' in [g.gr_name for g in grp.getgrall()] else None
FILES = ('cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem')
MODES = {'cert.pem': '0644', 'chain.pem': '0644', 'fullchain.pem': '0644', 'privkey.pem': '0600'}
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason='files of other users need root')


@pytest.fixture(scope='module')
def ca():
    return make_ca(common_name='cert_files unit test CA')


def issue(ca, name):
    """The four files of a fresh certificate for name: {'<name>/<file>': bytes}."""
    cert, key = make_server_cert(ca[0], ca[1], names=(name + '.example.test',), ips=())
    return {'%s/cert.pem' % name: cert_pem(cert), '%s/chain.pem' % name: cert_pem(ca[0]),
            '%s/fullchain.pem' % name: cert_pem(cert) + cert_pem(ca[0]), '%s/privkey.pem' % name: key_pem(key)}


def plan(*names, **modes):
    return [CertFile({'path': '%s/%s' % (name, f), 'mode': modes.get(f.split('.', maxsplit=1)[0], MODES[f])})
            for name in names for f in FILES]


def install(dest, files, new, check_mode=False, validate=None):
    with HostCertificates(str(dest), check_mode=check_mode) as host:
        job = Install(host, files, new.__getitem__).run()
        rolled_back = job.validate(validate) if validate else []
        job.commit()
        return job, rolled_back


def on_host(dest, name, sub=''):
    directory = dest / name / sub if sub else dest / name
    return {'%s/%s' % (name, f): (directory / f).read_bytes() for f in FILES if (directory / f).exists()}


def key_matches_certificate(dest, name):
    cert = x509.load_pem_x509_certificate((dest / name / 'cert.pem').read_bytes())
    key = serialization.load_pem_private_key((dest / name / 'privkey.pem').read_bytes(), None)
    return cert.public_key().public_numbers() == key.public_key().public_numbers()


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_install_writes_whole_sets_keeps_the_previous_one_and_only_when_something_differs(tmp_path, ca):
    dest = tmp_path / 'certs'
    v1 = issue(ca, 'web')
    job, _rolled_back = install(dest, plan('web'), v1)
    assert job.changed_paths == sorted(v1, key=list(v1).index)
    assert on_host(dest, 'web') == v1
    assert mode_of(dest / 'web' / 'privkey.pem') == 0o600 and mode_of(dest / 'web') == 0o755
    assert not (dest / 'web' / '.previous').exists()
    assert install(dest, plan('web'), v1)[0].changed_paths == []

    v2 = issue(ca, 'web')
    job, _rolled_back = install(dest, plan('web'), v2)
    assert job.kept == list(v1)
    assert on_host(dest, 'web') == v2 and key_matches_certificate(dest, 'web')
    assert on_host(dest, 'web', '.previous') == v1
    assert mode_of(dest / 'web' / '.previous') == 0o700 and mode_of(dest / 'web' / '.previous' / 'cert.pem') == 0o600
    # chain.pem is the same CA: not among the changed paths, but part of both sets.
    assert 'web/chain.pem' not in job.changed_paths
    # A key left readable: only that file is reported, the set is rewritten whole.
    os.chmod(dest / 'web' / 'privkey.pem', 0o644)
    assert install(dest, plan('web'), v2)[0].changed_paths == ['web/privkey.pem']
    assert mode_of(dest / 'web' / 'privkey.pem') == 0o600
    assert sorted(os.listdir(dest)) == ['web']


def test_check_mode_reports_and_writes_nothing(tmp_path, ca):
    dest = tmp_path / 'certs'
    job, _rolled_back = install(dest, plan('web'), issue(ca, 'web'), check_mode=True)
    assert len(job.changed_paths) == 4
    assert not dest.exists()


def test_a_full_disk_half_way_leaves_every_certificate_as_it_was(tmp_path, ca, monkeypatch):
    dest = tmp_path / 'certs'
    old = dict(issue(ca, 'web'), **issue(ca, 'api'))
    install(dest, plan('web', 'api'), old)
    new = dict(issue(ca, 'web'), **issue(ca, 'api'))
    writes = []
    real_write = fileset._write_chunk

    def full_disk(fd, data):
        writes.append(fd)
        if len(writes) == 8 + 3:          # web's set (4 files, 4 kept) went in; api's third file meets a full disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(fileset, '_write_chunk', full_disk)
    with pytest.raises(OSError) as failure:
        install(dest, plan('web', 'api'), new)
    assert failure.value.errno == errno.ENOSPC and len(writes) == 11
    for name in ('web', 'api'):
        assert on_host(dest, name) == {p: d for p, d in old.items() if p.startswith(name + '/')}
        assert key_matches_certificate(dest, name)
    assert sorted(os.listdir(dest)) == ['api', 'web']


def nginx_like(dest, rejected):
    """A check that fails like `nginx -t` while a rejected certificate's key is in place."""
    def run():
        for name, key in rejected.items():
            if (dest / name / 'privkey.pem').read_bytes() == key:
                return 1, '', ('nginx: [emerg] SSL_CTX_use_PrivateKey("%s/%s/privkey.pem") failed '
                               '(SSL: error:05800074:x509 certificate routines::key values mismatch)' % (dest, name))
        return 0, '', 'nginx: configuration file /etc/nginx/nginx.conf test is successful'
    return run


def test_a_certificate_the_check_rejects_goes_back_alone(tmp_path, ca):
    dest = tmp_path / 'certs'
    old = dict(issue(ca, 'web'), **issue(ca, 'api'), **issue(ca, 'shop'))
    install(dest, plan('web', 'api', 'shop'), old)
    new = dict(issue(ca, 'web'), **issue(ca, 'api'), **issue(ca, 'shop'))
    bad = {'api': new['api/privkey.pem'], 'shop': new['shop/privkey.pem']}
    job, rolled_back = install(dest, plan('web', 'api', 'shop'), new, validate=nginx_like(dest, bad))
    assert [r['name'] for r in rolled_back] == ['api', 'shop']
    assert 'key values mismatch' in rolled_back[0]['error'] and '/api/privkey.pem' in rolled_back[0]['error']
    assert list(job.changed) == ['web']
    assert on_host(dest, 'web') == {p: d for p, d in new.items() if p.startswith('web/')}
    for name in ('api', 'shop'):
        assert on_host(dest, name) == {p: d for p, d in old.items() if p.startswith(name + '/')}
    assert sorted(os.listdir(dest)) == ['api', 'shop', 'web']


def test_a_failing_check_that_names_nobody_puts_all_back(tmp_path, ca):
    dest = tmp_path / 'certs'
    job, rolled_back = install(dest, plan('web', 'new'), dict(issue(ca, 'web'), **issue(ca, 'new')),
                               validate=lambda: (3, '', 'validator says no'))
    assert [r['name'] for r in rolled_back] == ['web', 'new']
    assert 'named no certificate' in rolled_back[0]['error'] and 'validator says no' in rolled_back[0]['error']
    assert job.changed == {}
    assert os.listdir(dest) == []      # both were new: removed


def test_put_back_restores_the_previous_set_and_removes_new_ones(tmp_path, ca):
    dest = tmp_path / 'certs'
    v1 = issue(ca, 'web')
    install(dest, plan('web'), v1)
    job, _rolled_back = install(dest, plan('web', 'fresh'), dict(issue(ca, 'web'), **issue(ca, 'fresh')))
    with HostCertificates(str(dest)) as host:
        changed = put_back(host, plan('web', 'fresh'), job.kept)
    assert changed == list(v1) + ['fresh/' + f for f in FILES]
    assert on_host(dest, 'web') == v1 and key_matches_certificate(dest, 'web')
    assert not (dest / 'fresh').exists()


@ROOT_ONLY
@pytest.mark.skipif(NOGROUP is None, reason='needs the nogroup group')
def test_owner_and_group_by_name_or_number(tmp_path):
    item = CertFile({'path': 'web/privkey.pem', 'mode': '0640', 'group': str(NOGROUP)})
    install(tmp_path / 'certs', [item], {'web/privkey.pem': b'K'})
    st = os.stat(tmp_path / 'certs' / 'web' / 'privkey.pem')
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, NOGROUP, 0o640)
    named = CertFile({'path': 'web/cert.pem', 'owner': 'root', 'group': 'nogroup', 'mode': '644'})
    assert (named.uid, named.gid, named.mode) == (0, NOGROUP, 0o644)


@pytest.mark.parametrize('entry, message', [
    ({'path': '../etc/passwd', 'mode': '0644'}, 'is not <name>/<file>'),
    ({'path': 'web/other.pem', 'mode': '0644'}, 'is not <name>/<file>'),
    ({'path': 'web\n/cert.pem', 'mode': '0644'}, 'is not <name>/<file>'),
    ({'path': 'web/cert.pem', 'mode': 'u=rw'}, 'quoted octal'),
    ({'path': 'web/cert.pem', 'mode': '0644', 'owner': 'no-such-user-here'}, 'does not exist on this host'),
    ({'path': 'web/cert.pem', 'mode': '0644', 'group': 'no-such-group-here'}, 'does not exist on this host'),
])
def test_bad_entries_are_refused_before_anything_is_written(tmp_path, entry, message):
    with pytest.raises(ConfigurationError, match=message):
        CertFile(entry)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('previous', ['../../tmp', 'a/b', '..', '.', '', 'privkey.pem'])
def test_previous_dir_is_a_plain_name(previous):
    with pytest.raises(ConfigurationError, match='must be a plain directory name'):
        check_previous_dir(previous)


# -- hostile ground: links and directories planted by another user ---------------------

def tree_of(path):
    return sorted(os.path.relpath(os.path.join(d, f), path) for d, dirs, files in os.walk(path) for f in files + dirs)


@pytest.fixture
def hostile(tmp_path, ca):
    """(dest, outside, v1, v2): web deployed once; an 'outside' directory and file that must stay untouched."""
    dest = tmp_path / 'certs'
    v1 = issue(ca, 'web')
    install(dest, plan('web'), v1)
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'shadow').write_bytes(b'root:secret')
    return dest, outside, v1, issue(ca, 'web')


def assert_outside_untouched(outside):
    assert tree_of(outside) == ['shadow']
    assert (outside / 'shadow').read_bytes() == b'root:secret'
    assert mode_of(outside / 'shadow') == 0o644


def test_a_certificate_directory_that_is_a_link_is_refused(hostile):
    dest, outside, v1, v2 = hostile
    os.symlink(str(outside), str(dest / 'api'))
    with pytest.raises(UnsafePathError, match=r'certs/api is a symbolic link \(to .*outside\): refusing to follow'):
        install(dest, plan('api'), issue_like(v2, 'api'))
    assert_outside_untouched(outside)


def issue_like(files, name):
    return {'%s/%s' % (name, p.split('/', 1)[1]): d for p, d in files.items()}


def test_a_certificate_file_that_is_a_link_is_refused(hostile):
    dest, outside, v1, v2 = hostile
    os.unlink(dest / 'web' / 'privkey.pem')
    os.symlink(str(outside / 'shadow'), str(dest / 'web' / 'privkey.pem'))
    with pytest.raises(UnsafePathError, match=r'web/privkey.pem is a symbolic link: refusing to follow it'):
        install(dest, plan('web'), v2)
    assert_outside_untouched(outside)
    assert os.readlink(dest / 'web' / 'privkey.pem') == str(outside / 'shadow')


def test_a_previous_directory_that_is_a_link_is_refused(hostile):
    dest, outside, v1, v2 = hostile
    job, _rolled_back = install(dest, plan('web'), v2)
    os.rename(dest / 'web' / '.previous', dest / 'kept-aside')
    os.symlink(str(outside), str(dest / 'web' / '.previous'))
    with HostCertificates(str(dest)) as host:
        with pytest.raises(UnsafePathError, match=r'web/.previous is a symbolic link'):
            put_back(host, plan('web'), job.kept)
    assert_outside_untouched(outside)
    assert on_host(dest, 'web') == v2


def test_a_destination_that_is_a_link_is_refused(hostile, tmp_path):
    dest, outside, v1, v2 = hostile
    os.symlink(str(outside), str(tmp_path / 'elsewhere'))
    with pytest.raises(UnsafePathError, match=r'elsewhere is a symbolic link'):
        install(tmp_path / 'elsewhere', plan('web'), v2)
    assert_outside_untouched(outside)


@ROOT_ONLY
def test_directories_of_another_user_are_refused(hostile):
    dest, outside, v1, v2 = hostile
    os.chown(dest / 'web', 65534, 65534)
    with pytest.raises(UnsafePathError, match=r'certs/web belongs to .*uid 65534.*not to root'):
        install(dest, plan('web'), v2)
    assert on_host(dest, 'web') == v1
    os.chown(dest / 'web', 0, 0)
    os.chown(dest, 65534, 65534)
    with pytest.raises(UnsafePathError, match=r'certs belongs to .*uid 65534'):
        install(dest, plan('web'), v2)
    assert on_host(dest, 'web') == v1


def test_a_certificate_directory_writable_by_others_is_refused(hostile):
    dest, outside, v1, v2 = hostile
    os.chmod(dest / 'web', 0o777)
    with pytest.raises(UnsafePathError, match=r'web is writable by group and others'):
        install(dest, plan('web'), v2)
    assert on_host(dest, 'web') == v1


def test_inspect_lists_the_files_as_find_does_and_plans_nothing_when_in_place(tmp_path, ca):
    dest = tmp_path / 'certs'
    # Nothing there yet: no files, and the directory is not created.
    with HostCertificates(str(dest), check_mode=True) as host:
        assert inspect(host, ['app1']) == []
    assert not dest.exists()
    new = issue(ca, 'app1')
    install(dest, plan('app1'), new)
    with HostCertificates(str(dest), check_mode=True) as host:
        found = inspect(host, ['app1', 'absent'])
    assert sorted(f['path'] for f in found) == sorted(str(dest / p) for p in new)
    key = [f for f in found if f['path'].endswith('/privkey.pem')][0]
    assert key['checksum'] == hashlib.sha1(new['app1/privkey.pem']).hexdigest()
    assert key['mode'] == '0600' and key['uid'] == os.geteuid()
    assert key['pw_name'] == pwd.getpwuid(os.geteuid())[0]
    assert 'data' not in key and all(isinstance(v, (str, int)) for v in key.values())
    # What the role's plan makes of it: the store's identical files need nothing.
    store = [{'path': '/store/certs/%s' % p, 'checksum': hashlib.sha1(data).hexdigest()} for p, data in new.items()]
    owner = pwd.getpwuid(os.geteuid())[0]
    group = grp.getgrgid(os.getegid())[0]
    defaults = {'owner': owner, 'group': group, 'mode': '0644', 'key_mode': '0600'}
    assert deploy_plan(store, found, [{'name': 'app1'}], defaults) == []
    with pytest.raises(ConfigurationError, match='not a certificate name'):
        with HostCertificates(str(dest), check_mode=True) as host:
            inspect(host, ['../etc'])


def test_undo_puts_back_every_form_file_it_can_and_names_the_others(tmp_path, monkeypatch):
    paths = [str(tmp_path / ('%s.pem' % name)) for name in ('a', 'b', 'c')]
    for path in paths:
        with open(path, 'w') as handle:
            handle.write('before %s' % os.path.basename(path))
    forms = FormFiles([FormFile({'path': path, 'name': 'app1', 'mode': '0600', 'key': True}) for path in paths],
                      lambda _member: b'after').run()
    write = FormFiles._write

    def failing_write(self, item, entry):
        if item.path == paths[1]:
            raise OSError(errno.ENOSPC, 'No space left on device')
        return write(self, item, entry)

    monkeypatch.setattr(FormFiles, '_write', failing_write)
    with pytest.raises(AutoTLSError) as caught:
        forms.undo()
    assert caught.value.details['not_restored'] == [paths[1]]
    assert caught.value.msg == 'Could not put back %s (No space left on device)' % paths[1]
    assert [open(path).read() for path in paths] == ['before a.pem', 'after', 'before c.pem']
