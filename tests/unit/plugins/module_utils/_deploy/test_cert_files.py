import grp
import os
import stat

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._deploy.cert_files import CertFile, install, keep_previous, put_back
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

NOGROUP = grp.getgrnam('nogroup').gr_gid if 'nogroup' in [g.gr_name for g in grp.getgrall()] else None


def entries(dest, *specs):
    return [CertFile(str(dest), dict(owner=None, group=None, **spec), '.previous') for spec in specs]


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_install_writes_only_what_differs_with_its_mode(tmp_path):
    files = entries(tmp_path, {'path': 'web/cert.pem', 'mode': '0644'}, {'path': 'web/privkey.pem', 'mode': '0600'})
    new = {'web/cert.pem': b'CERT1', 'web/privkey.pem': b'KEY1'}
    assert install(files, new.get) == ['web/cert.pem', 'web/privkey.pem']
    assert (tmp_path / 'web' / 'privkey.pem').read_bytes() == b'KEY1'
    assert mode_of(tmp_path / 'web' / 'privkey.pem') == 0o600
    assert mode_of(tmp_path / 'web') == 0o755
    assert install(files, new.get) == []
    os.chmod(tmp_path / 'web' / 'privkey.pem', 0o644)
    assert install(files, new.get) == ['web/privkey.pem']
    assert mode_of(tmp_path / 'web' / 'privkey.pem') == 0o600


def test_check_mode_reports_and_writes_nothing(tmp_path):
    files = entries(tmp_path, {'path': 'web/cert.pem', 'mode': '0644'})
    assert install(files, {'web/cert.pem': b'C'}.get, check_mode=True) == ['web/cert.pem']
    assert not (tmp_path / 'web').exists()
    assert keep_previous(files, check_mode=True) == []


def test_keep_install_put_back_restores_old_files_and_removes_new_ones(tmp_path):
    files = entries(tmp_path, {'path': 'web/cert.pem', 'mode': '0644'}, {'path': 'web/privkey.pem', 'mode': '0640'},
                    {'path': 'web/chain.pem', 'mode': '0644'})
    install(files[:2], {'web/cert.pem': b'OLD', 'web/privkey.pem': b'OLDKEY'}.get)
    kept = keep_previous(files)
    assert kept == ['web/cert.pem', 'web/privkey.pem']
    previous = tmp_path / 'web' / '.previous'
    assert mode_of(previous) == 0o700 and mode_of(previous / 'privkey.pem') == 0o600
    assert (previous / 'privkey.pem').read_bytes() == b'OLDKEY'

    install(files, {'web/cert.pem': b'NEW', 'web/privkey.pem': b'NEWKEY', 'web/chain.pem': b'CHAIN'}.get)
    assert put_back(files, kept) == ['web/cert.pem', 'web/privkey.pem', 'web/chain.pem']
    assert (tmp_path / 'web' / 'cert.pem').read_bytes() == b'OLD'
    assert (tmp_path / 'web' / 'privkey.pem').read_bytes() == b'OLDKEY'
    assert mode_of(tmp_path / 'web' / 'privkey.pem') == 0o640
    assert not (tmp_path / 'web' / 'chain.pem').exists()


@pytest.mark.skipif(os.geteuid() != 0 or NOGROUP is None, reason='needs root and the nogroup group')
def test_owner_and_group_by_name_or_number(tmp_path):
    files = entries(tmp_path, {'path': 'web/privkey.pem', 'mode': '0640'})
    files[0].gid = NOGROUP
    install(files, {'web/privkey.pem': b'K'}.get)
    st = os.stat(tmp_path / 'web' / 'privkey.pem')
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, NOGROUP, 0o640)
    named = CertFile(str(tmp_path), {'path': 'web/cert.pem', 'owner': 'root', 'group': 'nogroup', 'mode': '644'},
                     '.previous')
    assert (named.uid, named.gid, named.mode) == (0, NOGROUP, 0o644)


@pytest.mark.parametrize('entry, message', [
    ({'path': '../etc/passwd', 'mode': '0644'}, 'is not <name>/<file>'),
    ({'path': 'web/other.pem', 'mode': '0644'}, 'is not <name>/<file>'),
    ({'path': 'web/cert.pem', 'mode': 'u=rw'}, 'quoted octal'),
    ({'path': 'web/cert.pem', 'mode': '0644', 'owner': 'no-such-user-here'}, 'does not exist on this host'),
    ({'path': 'web/cert.pem', 'mode': '0644', 'group': 'no-such-group-here'}, 'does not exist on this host'),
])
def test_bad_entries_are_refused_before_anything_is_written(tmp_path, entry, message):
    with pytest.raises(ConfigurationError, match=message):
        CertFile(str(tmp_path), entry, '.previous')
    assert list(tmp_path.iterdir()) == []
