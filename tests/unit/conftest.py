# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit-test fixtures: a real moto server (Route53 API) and a DNS server over its state.

One moto server per test process (started on first use, stopped at the session's end);
every test that uses ``moto`` starts from an empty account (``/moto-api/reset``). The tests
that use it are marked ``moto`` (``-m moto`` selects them, ``-m 'not moto'`` leaves them out).
"""

import pytest

from testbed.dns_server import Route53DnsServer
from testbed.moto import AWS_ENV, MotoServer


@pytest.fixture(scope='session')
def moto_server(tmp_path_factory):
    """A started ``moto_server -H 127.0.0.1 -p <free port>``, one per test process (xdist
    worker): its start takes seconds, its reset (the ``moto`` fixture) milliseconds."""
    with MotoServer(workdir=str(tmp_path_factory.mktemp('moto'))) as server:
        yield server


@pytest.fixture
def moto(moto_server):
    """The moto server, reset to an empty account for this test."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def aws_options(moto):
    """Module-style AWS options pointing at the moto server (explicit dummy keys)."""
    return dict(
        aws_profile=None,
        aws_region='us-east-1',
        aws_access_key=AWS_ENV['AWS_ACCESS_KEY_ID'],
        aws_secret_key=AWS_ENV['AWS_SECRET_ACCESS_KEY'],
        aws_session_token=None,
        aws_assume_role_arn=None,
        aws_assume_role_session_name='autotls-acme',
        aws_assume_role_external_id=None,
        aws_endpoint_url=moto.endpoint_url,
    )


@pytest.fixture(scope='module')
def route53_dns(moto_server):
    """An authoritative DNS server (UDP+TCP on 127.0.0.1) answering from moto's zones."""
    with Route53DnsServer(moto_server.client('route53')) as server:
        yield server


def pytest_collection_modifyitems(items):
    """Mark every test that talks to the moto server, however it asks for it."""
    for item in items:
        if 'moto_server' in getattr(item, 'fixturenames', ()):
            item.add_marker(pytest.mark.moto)
