# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters are thin: they call module_utils and turn its errors into AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.autotls.acme.plugins.filter import check_report, check_targets, drift_targets, drifted
from ansible_collections.autotls.acme.plugins.filter import run_outcome, run_report


def _filter(module, name):
    return module.FilterModule().filters()[name]


def test_each_filter_is_registered_under_its_name():
    for module, name in ((check_targets, 'check_targets'), (check_report, 'check_report'),
                         (drift_targets, 'drift_targets'), (drifted, 'drifted'),
                         (run_outcome, 'run_outcome'), (run_report, 'run_report')):
        assert callable(_filter(module, name))


def test_errors_become_filter_errors_that_name_the_filter():
    with pytest.raises(AnsibleFilterError, match='check_targets: A certificate without domains'):
        _filter(check_targets, 'check_targets')([{'name': 'x', 'domains': [], 'hosts': []}], {}, '/s')
    with pytest.raises(AnsibleFilterError, match='check_report: check_report: 1 results for 0 targets'):
        _filter(check_report, 'check_report')([{}], [], {})
    with pytest.raises(AnsibleFilterError, match='drifted: drifted: 1 results for 0 endpoints'):
        _filter(drifted, 'drifted')([{}], [])
    with pytest.raises(AnsibleFilterError, match='run_report'):
        _filter(run_report, 'run_report')([], {}, 'fourteen')


def test_run_filters_end_to_end():
    hostvars = {'web1': {'r': True, 'autotls_cert_deploy_changed': ['app1']}, 'web2': {}}
    outcome = _filter(run_outcome, 'run_outcome')(hostvars, ['web1', 'web2'], ['web1'], None, 'f', 'r')
    assert outcome['hosts'][0]['host'] == 'web2' and outcome['hosts'][0]['status'] == 'unreachable'
    out = _filter(run_report, 'run_report')([dict(name='app1', action='renew', changed=True)], outcome, '14', '')
    assert out['lines'][-1] == 'Totals: 0 issued, 1 renewed, 0 unchanged, 0 failed; 1 host deployed, 1 host failed.'
