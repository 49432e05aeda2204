# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An issue run whose S3 store is leased to another run still reports, naming the holder.

Nothing is pulled then, so the push is skipped; the run's summary (the job's last output)
names the lease's holder, and the run fails.
"""


import pytest

from ansible_collections.autotls.acme.plugins.module_utils._store.lease import Lease, S3LeaseBackend

BUCKET = 'autotls-lease-held'
pytestmark = pytest.mark.moto


@pytest.fixture
def store(moto):
    """An S3 store whose lease 'nightly job 41' holds; runs do not wait for it."""
    client = moto.client('s3')
    client.create_bucket(Bucket=BUCKET)
    Lease(S3LeaseBackend(client, BUCKET, 'autotls/'), 'nightly job 41', duration=600).acquire(wait=0)
    return {'type': 's3', 'bucket': BUCKET, 'endpoint_url': moto.endpoint_url, 'region': 'us-east-1',
            'lease_wait': 0}


def test_an_issue_run_that_cannot_take_the_lease_reports_its_holder(store, run_playbook):
    result = run_playbook('autotls.acme.issue', expect_rc=2,
                          extra_vars={'autotls_store': store, 'autotls_acme_directory': 'https://127.0.0.1:9/dir'})
    assert result.task('Take the store\'s lease')['failed']
    assert result.task('Push the working copy back to the store')['status'] == 'skipped'
    summary = result.task('Sum up the run')['result']['msg']
    assert any('nightly job 41' in line for line in summary), summary
    final = result.task('Fail the run when a certificate, a host or the run itself failed')
    assert final['failed'] and 'nightly job 41' in final['result']['msg'], final


def test_an_account_run_that_cannot_take_the_lease_names_its_holder(store, run_playbook):
    result = run_playbook('autotls.acme.account', expect_rc=2,
                          extra_vars={'autotls_store': store, 'autotls_acme_directory': 'https://127.0.0.1:9/dir'})
    lease = result.task('Take the store\'s lease')
    assert lease['failed'] and 'nightly job 41' in lease['result']['msg'], lease
    # Not an error of its own about a pull that never ran.
    assert result.task('Push the working copy back to the store')['status'] == 'skipped'
    assert not result.task('Give the store\'s lease back')['failed']
    assert 'is undefined' not in result.stdout
