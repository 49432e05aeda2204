# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as users get it: built with ``ansible-galaxy collection build``,
installed into a fresh path with ``ansible-galaxy collection install``, its playbooks run
by their FQCN from there, and its action groups set shared options through
``module_defaults``. Nothing of the checkout is on the collections path."""

import os
import subprocess
import sys
import textwrap

import pytest

from testbed.fixtures import ansible_environment, run_ansible_playbook

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(collections path holding only the installed build, the tarball's file names)."""
    base = tmp_path_factory.mktemp('galaxy')
    # Without the checkout's link on the collections path, which galaxy would take for an
    # installed copy of the same version and keep.
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    build = subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'build', REPO,
                            '--output-path', str(base / 'dist')], env=env, capture_output=True, text=True,
                           check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next((base / 'dist').glob('autotls-acme-*.tar.gz'))
    listing = subprocess.run(['tar', '-tzf', str(tarball)], capture_output=True, text=True, check=True).stdout
    collections = base / 'collections'
    install = subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'install', '--offline',
                              '-p', str(collections), str(tarball)], env=env, capture_output=True, text=True,
                             check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (collections / 'ansible_collections' / 'autotls' / 'acme' / 'playbooks' / 'renew.yml').is_file()
    return str(collections), listing.split()


def _env(collections):
    # Only the installed copy: the checkout's link (set by tests/conftest.py) is left out.
    return ansible_environment({'ANSIBLE_COLLECTIONS_PATH': collections})


def test_the_build_holds_what_users_need_and_nothing_of_the_workbench(installed):
    names = installed[1]
    for needed in ('LICENSE', 'README.md', 'MANIFEST.json', 'meta/runtime.yml', 'playbooks/renew.yml',
                   'playbooks/check.yml', 'roles/cert_deploy/meta/argument_specs.yml',
                   'plugins/modules/certificate.py', 'CHANGELOG.rst'):
        assert needed in names, '%s is missing from the built collection' % needed
    leaked = [n for n in names if n.startswith(('.venv/', 'bench/', 'scripts/', '.ci/', 'tests/output/'))
              or n.endswith(('.pyc', '.tar.gz'))]
    assert not leaked, 'workbench files in the built collection: %s' % leaked[:10]


def test_installed_playbook_runs_by_its_fqcn(installed, route53, tmp_path):
    collections = installed[0]
    route53.create_zone('pkg.example.test')
    inventory = tmp_path / 'inventory'
    (inventory / 'group_vars').mkdir(parents=True)
    (inventory / 'hosts.ini').write_text('[web]\nwww.pkg.example.test\n')
    store = tmp_path / 'store'
    (inventory / 'group_vars' / 'all.yml').write_text(textwrap.dedent("""\
        autotls_acme_directory: %s
        autotls_acme_ca_bundle: %s
        autotls_account_email: ops@pkg.example.test
        autotls_terms_agreed: true
        autotls_store: {type: local, path: %s}
        autotls_route53: {endpoint_url: "%s"}
        autotls_dns_servers: ["%s"]
        autotls_deploy: false
        autotls_certificates:
          - name: pkg-wildcard
            domains: ["*.pkg.example.test", pkg.example.test]
            challenge: dns-01
        """ % (route53.pebble.directory_url, route53.pebble.ca_bundle, store,
               route53.moto.endpoint_url, route53.dns.address)))
    # README: --check is a dry run all the way through (no order, no TXT record, no file).
    dry = run_ansible_playbook('autotls.acme.renew', str(tmp_path / 'dry'), env=_env(collections),
                               inventory=str(inventory / 'hosts.ini'), connection=None, check=True,
                               args=['--diff'])
    assert not (store / 'certs' / 'pkg-wildcard').exists(), dry.stdout[-3000:]
    assert 'pkg-wildcard' in dry.stdout
    assert not route53.txt_values('_acme-challenge.pkg.example.test')
    result = run_ansible_playbook('autotls.acme.renew', str(tmp_path / 'run'), env=_env(collections),
                                  inventory=str(inventory / 'hosts.ini'), connection=None)
    assert 'Totals: 1 issued, 0 renewed, 0 unchanged, 0 failed' in result.stdout, result.stdout[-3000:]
    assert (store / 'certs' / 'pkg-wildcard' / 'cert.pem').is_file()
    # The role files came from the installed copy, not from the checkout.
    assert REPO not in result.stdout
    assert not route53.txt_values('_acme-challenge.pkg.example.test')


def test_action_groups_set_shared_options_once(installed, route53, tmp_path):
    """module_defaults for group/autotls.acme.acme and group/autotls.acme.aws reach the
    certificate module: the CA, the account and moto's endpoint come only from there, so a
    group that did not apply would leave a required option out or send Route53 calls to AWS."""
    collections = installed[0]
    route53.create_zone('groups.example.test')
    playbook = textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          module_defaults:
            group/autotls.acme.acme:
              acme_directory: %(directory)s
              acme_ca_bundle: %(bundle)s
              account_key_src: %(workdir)s/account.key
              terms_agreed: true
            group/autotls.acme.aws:
              aws_endpoint_url: %(endpoint)s
          tasks:
            - name: Issue with the shared options of both groups
              autotls.acme.certificate:
                dest: %(workdir)s/certs
                dns_servers: ["%(dns)s"]
                certificates:
                  - name: groups
                    domains: [groups.example.test]
                    challenge: dns-01
              register: issued
            - name: Show what was issued
              ansible.builtin.assert:
                that: issued.certificates[0].action == 'issue'
        """ % dict(directory=route53.pebble.directory_url, bundle=route53.pebble.ca_bundle,
                   workdir=tmp_path, endpoint=route53.moto.endpoint_url, dns=route53.dns.address))
    result = run_ansible_playbook(playbook, str(tmp_path / 'run'), env=_env(collections))
    issued = result.task('Issue with the shared options of both groups')
    assert issued['changed'], issued
    assert (tmp_path / 'certs' / 'groups' / 'cert.pem').is_file()
