# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docs checker finds what is wrong in an example (so a wrong doc fails the suite)."""

import pytest

from testbed.doc_examples import Checker, Example


@pytest.fixture(scope='module')
def checker():
    return Checker()


@pytest.mark.parametrize('text, expected', [
    # a module option that does not exist
    ('- autotls.acme.certificate:\n    acme_directory: letsencrypt\n    account_key_src: /k\n    dest: /d\n'
     '    certificates: []\n    colour: red\n', 'colour'),
    # a choice that is not one
    ('- autotls.acme.ca_roots:\n    url: https://ca.example.test\n    fingerprint: ab\n    fetch: all\n', 'fetch'),
    # a variable no role and no playbook reads
    ('autotls_acme_directori: letsencrypt\n', 'autotls_acme_directori'),
    # a role variable of the wrong type
    ('autotls_concurrency: many\n', 'autotls_concurrency'),
    # a certificate key the model does not know
    ('autotls_certificates:\n  - {name: a, domains: [a.example.com], colour: red}\n', 'colour'),
    # an unquoted mode (YAML reads 640 as a decimal number)
    ('autotls_host_certificates:\n  - {name: a, domains: [a.example.com], key_mode: 0640}\n', 'key_mode'),
    # a role entry point named like its task file, which bypasses the argument spec
    ('- hosts: web\n  tasks:\n    - ansible.builtin.include_role:\n        name: autotls.acme.nginx_tls\n'
     '        tasks_from: acme.yml\n', 'acme.yml'),
    # a role variable of the wrong type given to a role in a play
    ('- hosts: web\n  roles:\n    - role: autotls.acme.nginx_tls\n      vars: {autotls_nginx_ipv6: sometimes}\n',
     'autotls_nginx_ipv6'),
], ids=['module-option', 'choice', 'unknown-variable', 'variable-type', 'certificate-key', 'int-mode',
        'tasks-from-file', 'role-var-type'])
def test_wrong_examples_are_reported(checker, tmp_path, text, expected):
    checker.problems = []
    checker.example(Example('doc.md#heading[1]', text), tmp_path)
    assert checker.problems, 'nothing reported for %r' % text
    assert any(expected in p and p.startswith('doc.md#heading[1]') for p in checker.problems), checker.problems


def test_templated_values_stand_for_any_value_of_their_type(checker, tmp_path):
    checker.problems = []
    checker.example(Example('doc.md#h[1]', '- autotls.acme.certificate:\n    acme_directory: letsencrypt\n'
                                           '    account_key_content: "{{ key }}"\n    dest: /d\n'
                                           '    concurrency: "{{ n }}"\n    certificates: "{{ certs }}"\n'),
                    tmp_path)
    assert checker.problems == []


@pytest.mark.parametrize('text, expected', [
    ('autotls_store: {type: s3, bucket: b, regoin: eu-west-1}\n', 'regoin'),
    ('autotls_renew_before: {days: 30, fraction: 2}\n', 'fraction'),
    ('autotls_renew_before: {dayz: 30}\n', 'dayz'),
    ('autotls_notify: {email: {to: [a@example.com], smtp_hots: smtp.example.com}}\n', 'smtp_hots'),
], ids=['store-key', 'renew-before-value', 'renew-before-key', 'notify-email-key'])
def test_keys_of_dict_variables_are_checked(checker, tmp_path, text, expected):
    checker.problems = []
    checker.example(Example('doc.md#heading[1]', text), tmp_path)
    assert any(expected in p for p in checker.problems), checker.problems
