# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pebble, Let's Encrypt's test ACME server, on free loopback ports."""

import base64
import json
import os
import secrets
import shutil
import tempfile

import requests

from .ports import free_tcp_port
from .processes import start_process
from .tls import write_server_tls

PEBBLE_BINARY = shutil.which('pebble') or '/usr/bin/pebble'


class Pebble:
    """A Pebble instance resolving every identifier through `dns_address` (host:port).

    http_port: where HTTP-01 validation connects (default: a free port; 80 for nginx).
    eab_required: demand External Account Binding; `eab_kid` / `eab_hmac_key` are the
    credentials (HMAC key base64url without padding, as ACME clients take it).
    env: extra environment, e.g. {'PEBBLE_WFE_NONCEREJECT': '30'}. Pebble's own default
    of rejecting 5% of good nonces is kept unless set here.
    validity_seconds: lifetime of issued certificates (Pebble's default is 5 years).
    """

    def __init__(self, dns_address, workdir=None, http_port=None, eab_required=False, env=None,
                 validity_seconds=None, name='pebble'):
        self.dns_address = dns_address
        self.workdir = workdir or tempfile.mkdtemp(prefix='autotls-pebble-')
        self.name = name
        self.port = free_tcp_port()
        self.management_port = free_tcp_port()
        self.http_port = http_port or free_tcp_port()
        self.tls_port = free_tcp_port()
        self.eab_required = eab_required
        self.eab_kid = self.eab_hmac_key = None
        if eab_required:
            self.eab_kid = 'kid-' + secrets.token_hex(4)
            self.eab_hmac_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b'=').decode()
        self.env = dict(env or {})
        self.validity_seconds = validity_seconds
        self.process = None
        self.tls = None
        self.config_path = os.path.join(self.workdir, '%s-config.json' % name)

    @property
    def directory_url(self):
        return 'https://127.0.0.1:%d/dir' % self.port

    @property
    def management_url(self):
        return 'https://127.0.0.1:%d' % self.management_port

    @property
    def ca_bundle(self):
        """PEM file that verifies Pebble's HTTPS listeners (not the certificates it issues)."""
        return self.tls.ca_cert

    def _config(self):
        config = {
            'listenAddress': '127.0.0.1:%d' % self.port,
            'managementListenAddress': '127.0.0.1:%d' % self.management_port,
            'certificate': self.tls.cert,
            'privateKey': self.tls.key,
            'httpPort': self.http_port,
            'tlsPort': self.tls_port,
            'ocspResponderURL': '',
            'externalAccountBindingRequired': self.eab_required,
        }
        if self.eab_required:
            config['externalAccountMACKeys'] = {self.eab_kid: self.eab_hmac_key}
        if self.validity_seconds:
            config['certificateValidityPeriod'] = int(self.validity_seconds)
        return {'pebble': config}

    def start(self, timeout=15.0):
        os.makedirs(self.workdir, exist_ok=True)
        self.tls = write_server_tls(self.workdir, prefix=self.name)
        with open(self.config_path, 'w') as f:
            json.dump(self._config(), f, indent=2)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP='1')
        env.pop('PEBBLE_WFE_NONCEREJECT', None)  # only the caller's env may change the 5%
        env.update(self.env)
        self.process = start_process(
            [PEBBLE_BINARY, '-config', self.config_path, '-dnsserver', self.dns_address],
            self.workdir, name=self.name, env=env)
        try:
            self.process.wait_ready(self._directory_answers, timeout,
                                    what='%s directory at %s' % (self.name, self.directory_url))
        except BaseException:
            self.stop()
            raise
        return self

    def _directory_answers(self):
        response = requests.get(self.directory_url, verify=self.ca_bundle, timeout=2)
        return response.ok and 'newAccount' in response.json()

    def _management_get(self, path):
        response = requests.get(self.management_url + path, verify=self.ca_bundle, timeout=10)
        response.raise_for_status()
        return response.text

    def roots_pem(self):
        """PEM of the root that signs this run's certificates (new on every start)."""
        return self._management_get('/roots/0')

    def intermediates_pem(self):
        return self._management_get('/intermediates/0')

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
