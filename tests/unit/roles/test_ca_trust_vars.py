# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ca_trust picks its trust store settings from vars/ files by OS: rendered for faked facts.

Runs the role's tasks/set_vars.yml on localhost (connection local) with `ansible_facts`
given as play vars, so no real facts are gathered and any OS can be pretended.
"""

import json
import os
import shutil

import pytest

from testbed.fixtures import ansible_environment

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE_DIR = os.path.join(REPO_ROOT, 'roles', 'ca_trust')

SHOW_VARS = ['__ca_trust_dir', '__ca_trust_suffix', '__ca_trust_update_command',
             '__ca_trust_packages', '__ca_trust_update_command_after_removal', '__ca_trust_java_os_alias']


def playbook(facts, role='autotls.acme.ca_trust'):
    return [{
        'hosts': 'localhost',
        'gather_facts': False,
        'vars': {'ansible_facts': facts},
        'tasks': [
            {'name': 'Load the OS variables',
             'ansible.builtin.include_role': {'name': role, 'tasks_from': 'set_vars.yml'}},
            {'name': 'Show the OS variables',
             'ansible.builtin.debug': {'msg': {v: '{{ %s | default(None) }}' % v for v in SHOW_VARS}}},
        ],
    }]


def rendered(result):
    return result.task('Show the OS variables')['result']['msg']


def facts(os_family, distribution, major):
    return {'os_family': os_family, 'distribution': distribution,
            'distribution_major_version': major}


@pytest.mark.parametrize('os_facts, trust_dir, suffix, command', [
    (facts('RedHat', 'RedHat', '9'), '/etc/pki/ca-trust/source/anchors', '.pem',
     ['/usr/bin/update-ca-trust', 'extract']),
    (facts('RedHat', 'Fedora', '40'), '/etc/pki/ca-trust/source/anchors', '.pem',
     ['/usr/bin/update-ca-trust', 'extract']),
    (facts('Suse', 'openSUSE Leap', '15'), '/etc/pki/trust/anchors', '.pem',
     ['/usr/sbin/update-ca-certificates']),
    (facts('Alpine', 'Alpine', '3'), '/usr/local/share/ca-certificates', '.crt',
     ['/usr/sbin/update-ca-certificates']),
    (facts('Debian', 'Ubuntu', '24'), '/usr/local/share/ca-certificates', '.crt',
     ['/usr/sbin/update-ca-certificates']),
], ids=['rhel', 'fedora', 'suse', 'alpine', 'ubuntu'])
def test_os_vars(run_playbook, os_facts, trust_dir, suffix, command):
    result = run_playbook(playbook(os_facts))
    got = rendered(result)
    assert got['__ca_trust_dir'] == trust_dir
    assert got['__ca_trust_suffix'] == suffix
    assert got['__ca_trust_update_command'] == command
    assert got['__ca_trust_packages'] == ['ca-certificates']
    # The facts were given: the role must not gather any.
    assert result.task('autotls.acme.ca_trust : Gather the facts that choose the OS variables')['status'] == 'skipped'


def test_debian_specifics(run_playbook):
    got = rendered(run_playbook(playbook(facts('Debian', 'Debian', '12'))))
    assert got['__ca_trust_update_command'] == ['/usr/sbin/update-ca-certificates']
    # Removal needs --fresh (a plain run keeps the links of a deleted root), and the
    # Java alias Debian's hook makes is known so the role can drop it.
    assert got['__ca_trust_update_command_after_removal'] == ['/usr/sbin/update-ca-certificates', '--fresh']
    assert got['__ca_trust_java_os_alias'] == 'debian:%s.pem'
    # Other families have neither.
    other = rendered(run_playbook(playbook(facts('RedHat', 'RedHat', '9'))))
    # (undefined renders as None, or as '' before ansible-core 2.19's native types)
    assert other['__ca_trust_update_command_after_removal'] in (None, '')
    assert other['__ca_trust_java_os_alias'] in (None, '')


def test_distribution_files_override_family(run_playbook, tmp_path):
    """<os_family>.yml, then <distribution>.yml, then <distribution>_<major>.yml: later wins."""
    roles = tmp_path / 'roles'
    copy = roles / 'ca_trust_copy'
    shutil.copytree(ROLE_DIR, copy)
    (copy / 'vars' / 'Fedora.yml').write_text('---\n__ca_trust_suffix: .fedora\n'
                                              '__ca_trust_packages: [fedora-ca]\n')
    (copy / 'vars' / 'Fedora_41.yml').write_text('---\n__ca_trust_suffix: .fedora41\n')
    env = ansible_environment({'ANSIBLE_ROLES_PATH': str(roles)})

    got = rendered(run_playbook(playbook(facts('RedHat', 'Fedora', '41'), role='ca_trust_copy'), env=env))
    assert got['__ca_trust_dir'] == '/etc/pki/ca-trust/source/anchors'   # from RedHat.yml
    assert got['__ca_trust_packages'] == ['fedora-ca']                   # from Fedora.yml
    assert got['__ca_trust_suffix'] == '.fedora41'                       # from Fedora_41.yml

    got40 = rendered(run_playbook(playbook(facts('RedHat', 'Fedora', '40'), role='ca_trust_copy'), env=env))
    assert got40['__ca_trust_suffix'] == '.fedora'


def test_unsupported_os_fails_clearly(run_playbook):
    result = run_playbook(playbook(facts('Archlinux', 'Archlinux', '0')), expect_rc=2)
    failed = result.failed
    assert failed, result.stdout
    message = json.dumps(failed[-1]['result'])
    assert 'Archlinux' in message and 'vars/Archlinux.yml' in message


def test_missing_facts_are_gathered(run_playbook):
    """Without facts, the role gathers the minimal subset itself (real localhost facts)."""
    book = playbook({})
    del book[0]['vars']
    result = run_playbook(book)
    assert result.task('autotls.acme.ca_trust : Gather the facts that choose the OS variables')['status'] == 'ok'
    assert rendered(result)['__ca_trust_dir'] == '/usr/local/share/ca-certificates'   # this machine: Debian
