# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import hashlib

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._deploy.plan import deploy_plan, store_checksums
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import normalize_mode
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

DEFAULTS = {'owner': 'root', 'group': 'root', 'mode': '0644', 'key_mode': '0600'}
FILES = ('cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem')


def store(name, checksum='a'):
    return [{'path': '/home/ops/store/certs/%s/%s' % (name, f), 'checksum': checksum + f} for f in FILES]


def host(name, checksum='a', owner='root', group='root', uid=0, gid=0, modes=None):
    modes = modes or {}
    return [{'path': '/etc/autotls/certs/%s/%s' % (name, f), 'checksum': checksum + f,
             'mode': modes.get(f, '0600' if f == 'privkey.pem' else '0644'),
             'pw_name': owner, 'gr_name': group, 'uid': uid, 'gid': gid} for f in FILES]


def test_nothing_to_do_when_content_and_attributes_match():
    assert deploy_plan(store('web'), host('web'), [{'name': 'web'}], DEFAULTS) == []


def test_new_certificate_lists_every_file_with_the_key_last_and_its_own_mode():
    plan = deploy_plan(store('web'), [], [{'name': 'web'}], DEFAULTS)
    assert [p['path'] for p in plan] == ['web/%s' % f for f in FILES]
    assert {p['reason'] for p in plan} == {'new'}
    assert plan[-1] == {'path': 'web/privkey.pem', 'owner': 'root', 'group': 'root', 'mode': '0600', 'reason': 'new'}
    assert plan[0]['mode'] == '0644'


def test_only_the_files_whose_content_differs():
    on_host = host('web')
    on_host[1]['checksum'] = 'old'          # chain.pem
    plan = deploy_plan(store('web'), on_host, [{'name': 'web'}], DEFAULTS)
    assert [(p['path'], p['reason']) for p in plan] == [('web/chain.pem', 'content')]


def test_owner_group_and_mode_drift_are_changes_too():
    certificate = {'name': 'alt', 'group': 'www-data', 'key_mode': '0640'}
    plan = deploy_plan(store('alt'), host('alt', group='www-data', modes={'privkey.pem': '0600'}),
                       [certificate], DEFAULTS)
    assert [(p['path'], p['reason'], p['mode'], p['group']) for p in plan] == [
        ('alt/privkey.pem', 'attributes', '0640', 'www-data')]
    assert deploy_plan(store('alt'), host('alt', owner='nobody'), [{'name': 'alt'}], DEFAULTS)[0]['reason'] \
        == 'attributes'


def test_numeric_owners_and_modes_compare_by_value():
    certificate = {'name': 'web', 'owner': 0, 'group': '33', 'mode': '644', 'key_mode': '600'}
    assert deploy_plan(store('web'), host('web', group='www-data', gid=33), [certificate], DEFAULTS) == []


def test_a_symbolic_mode_is_refused_with_what_to_write():
    with pytest.raises(ConfigurationError, match='quoted octal'):
        deploy_plan(store('web'), host('web'), [{'name': 'web', 'mode': 'u=rw,go=r'}], DEFAULTS)


def test_other_certificates_on_the_host_and_missing_store_files_are_ignored():
    on_host = host('web') + host('someone-else', checksum='z')
    plan = deploy_plan(store('web') + store('alt')[:1], on_host, [{'name': 'alt'}, {'name': 'web'}], DEFAULTS)
    assert plan[0]['reason'] == 'new'
    assert [p['path'] for p in plan] == ['alt/cert.pem']


@pytest.mark.parametrize('mode, expected', [('0644', '0644'), ('644', '0644'), ('0750', '0750')])
def test_normalize_mode(mode, expected):
    assert normalize_mode(mode) == expected


@pytest.mark.parametrize('mode', [True, None, 'u=rw', '0999', '2750', ''])
def test_a_mode_that_is_no_octal_mode_is_refused_with_what_to_write(mode):
    with pytest.raises(ConfigurationError, match='quoted octal'):
        normalize_mode(mode)


@pytest.mark.parametrize('mode', [0o640, 660, 644])
def test_a_number_is_refused_saying_to_quote_it(mode):
    with pytest.raises(ConfigurationError, match='quote it, e.g. "0640"'):
        normalize_mode(mode)


def test_a_key_mode_readable_by_others_is_refused_before_planning():
    with pytest.raises(ConfigurationError, match="^autotls_key_mode '0644' gives every user"):
        deploy_plan(store('web'), [], [{'name': 'web'}], dict(DEFAULTS, key_mode='0644'))


def test_a_bad_mode_names_the_variable_or_the_certificate_to_change():
    with pytest.raises(ConfigurationError, match="^autotls_key_mode 'u=rw' .*quoted octal"):
        deploy_plan(store('web'), [], [{'name': 'web'}], dict(DEFAULTS, key_mode='u=rw'))
    with pytest.raises(ConfigurationError, match="^mode of certificate 'alt' '0x644' .*quoted octal"):
        deploy_plan(store('alt'), [], [{'name': 'alt', 'mode': '0x644'}], DEFAULTS)


def test_store_checksums_lists_what_exists_as_find_does(tmp_path):
    (tmp_path / 'web').mkdir()
    (tmp_path / 'web' / 'cert.pem').write_bytes(b'cert')
    (tmp_path / 'real-key').write_bytes(b'key')
    (tmp_path / 'web' / 'privkey.pem').symlink_to(tmp_path / 'real-key')   # followed, as find follow=true
    found = store_checksums(str(tmp_path), ['web', 'missing'])
    assert found == [{'path': str(tmp_path / 'web' / 'cert.pem'), 'checksum': hashlib.sha1(b'cert').hexdigest()},
                     {'path': str(tmp_path / 'web' / 'privkey.pem'), 'checksum': hashlib.sha1(b'key').hexdigest()}]
    # The plan reads them like find's: web's chain and fullchain are missing in the store, so not planned.
    plan = deploy_plan(found, [], [{'name': 'web'}], DEFAULTS)
    assert sorted(p['path'] for p in plan) == ['web/cert.pem', 'web/privkey.pem']
