# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ACME account credential type (docs/awx/credential-types/acme-account.yml) with autotls_issuers.

Its injectors rendered as AWX renders them (testbed/awx.py), one credential per issuer, the
extra vars file written as AWX writes it (every string !unsafe), and the inventory example
of docs/awx.md read by ansible-core: each issuer gets its own account key and EAB.
"""

import os

import yaml

from ansible_collections.autotls.acme.plugins.module_utils._acme.account import new_account_key
from testbed import awx
from testbed.doc_examples import REPO_ROOT, markdown_examples

TYPES = os.path.join(REPO_ROOT, 'docs', 'awx', 'credential-types')


def _account_type():
    return awx.load_credential_type(TYPES, 'acme-account.yml')


def _example(doc):
    found = [e.load() for e in markdown_examples(os.path.join(REPO_ROOT, 'docs', doc))
             if 'autotls_account_zerossl' in e.text]
    assert len(found) == 1, found
    return found[0]


def test_without_an_issuer_name_it_sets_the_one_ca_variables():
    key = new_account_key('ec256').decode()
    injected = awx.render_injected_extra_vars(_account_type(), {'account_key': key, 'eab_kid': 'kid-1'})
    assert (injected['autotls_account_key_content'], injected['autotls_eab_kid'], injected['autotls_eab_hmac_key']) == (
        key, 'kid-1', '')


def test_awx_accepts_the_injector_names_and_refuses_a_templated_filter():
    injectors = _account_type()['injectors']
    awx._check_injector_names(injectors)  # pylint: disable=protected-access
    # What AWX refuses (and an earlier form of this file had): a filter in the name.
    try:
        awx._check_injector_names({'extra_vars': {"autotls_account_{{ issuer | replace('-', '_') }}": ''}})  # pylint: disable=protected-access
    except AssertionError as exc:
        assert 'AWX refuses' in str(exc)
    else:
        raise AssertionError('a name with a filter passed the check')


def test_one_credential_per_issuer_gives_each_issuer_its_account(run_playbook, tmp_path):
    keys = {name: new_account_key('ec256').decode() for name in ('letsencrypt', 'zerossl', 'le_staging')}
    injected = {}
    for name, key in keys.items():
        inputs = {'account_key': key, 'issuer': name}
        if name == 'zerossl':
            inputs.update(eab_kid='kid-1', eab_hmac_key='aG1hYy1rZXk')
        rendered = awx.render_injected_extra_vars(_account_type(), inputs)
        # The one-CA variables stay empty, so that they never clash with autotls_issuers.
        assert [rendered[var] for var in ('autotls_account_key_content', 'autotls_eab_kid', 'autotls_eab_hmac_key')] == [
            '', '', '']
        injected.update(rendered)
    assert injected['autotls_account_le_staging']['account_key_content'] == keys['le_staging']
    extra = tmp_path / 'credentials.yml'
    extra.write_text(yaml.dump(injected, Dumper=awx._UnsafeDumper))  # pylint: disable=protected-access
    for doc in ('awx.md', 'issuers.md'):
        inventory = _example(doc)
        assert inventory['autotls_issuers'] == _example('awx.md')['autotls_issuers']
        hosts = tmp_path / ('%s-inventory.yml' % doc)
        hosts.write_text(yaml.safe_dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local'}},
                                                 'vars': inventory}}))
        play = {'hosts': 'localhost', 'gather_facts': False,
                'tasks': [{'name': 'issuers', 'ansible.builtin.debug': {
                    'msg': "{{ (hostvars[inventory_hostname] | autotls.acme.issuer_settings('/srv/autotls')).issuers }}"}}]}
        result = run_playbook([play], inventory=str(hosts), connection=None, args=['-e', '@%s' % extra])
        first, second = result.task('issuers')['result']['msg']
        assert (first['name'], first['account_key_content']) == ('letsencrypt', keys['letsencrypt'])
        assert 'eab_kid' not in first                                   # empty: no External Account Binding
        assert (second['name'], second['account_key_content'], second['eab_kid'], second['eab_hmac_key']) == (
            'zerossl', keys['zerossl'], 'kid-1', 'aG1hYy1rZXk')
