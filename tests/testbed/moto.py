# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""moto's standalone server: a real HTTP endpoint for the Route53 (and S3) API."""

import os
import sys
import tempfile
import threading

import boto3
import botocore.config
import requests

from .ports import free_tcp_port
from .processes import start_process

REGION = 'us-east-1'
# Dummy credentials: moto accepts any, botocore just needs some to sign with.
AWS_ENV = {
    'AWS_ACCESS_KEY_ID': 'testing',
    'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_DEFAULT_REGION': REGION,
}


def aws_env():
    """Environment for subprocesses that talk to moto (the endpoint is a module option)."""
    return dict(AWS_ENV)


class MotoServer:
    """`moto_server -H 127.0.0.1 -p PORT` as a background process."""

    def __init__(self, workdir=None, port=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix='autotls-moto-')
        self.port = port or free_tcp_port()
        self.process = None
        # One botocore session for every client of this server: its loader reads the
        # service and endpoint models once, not once per client (a few tenths of a second).
        self._session = None
        self._session_lock = threading.Lock()

    @property
    def endpoint_url(self):
        return 'http://127.0.0.1:%d' % self.port

    def start(self, timeout=30.0):
        binary = os.path.join(os.path.dirname(sys.executable), 'moto_server')
        env = dict(os.environ, **AWS_ENV)
        self.process = start_process([binary, '-H', '127.0.0.1', '-p', self.port],
                                     self.workdir, name='moto_server', env=env)
        try:
            self.process.wait_ready(
                lambda: requests.get(self.endpoint_url + '/moto-api/', timeout=2).ok, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def client(self, service, **kwargs):
        """A boto3 client for `service` on this server, dummy credentials, us-east-1."""
        # More pooled connections than the default 10: the DNS server queries from many threads.
        kwargs.setdefault('config', botocore.config.Config(
            max_pool_connections=64, retries={'max_attempts': 2}))
        with self._session_lock:     # making clients from one session is not thread-safe
            if self._session is None:
                self._session = boto3.session.Session()
            return self._session.client(
                service, endpoint_url=self.endpoint_url, region_name=REGION,
                aws_access_key_id=AWS_ENV['AWS_ACCESS_KEY_ID'],
                aws_secret_access_key=AWS_ENV['AWS_SECRET_ACCESS_KEY'],
                **kwargs)

    def reset(self):
        """Forget every resource in every service."""
        requests.post(self.endpoint_url + '/moto-api/reset', timeout=10).raise_for_status()

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
