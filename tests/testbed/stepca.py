# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smallstep step-ca (0.19, built from Debian's Go sources) as a private ACME CA.

    with StepCA(bed.dns.address, workdir) as ca:
        print(ca.directory_url, ca.root_path, ca.root_fingerprint)

The binary comes from scripts/build-step-ca.sh (built once, cached between runs). The
root and intermediate are made here with cryptography (EC P-256); step-ca issues from
the intermediate and serves its own HTTPS listener with a certificate it signs itself
for `localhost` and `127.0.0.1`, so `root_path` is the CA bundle clients use. Identifiers
are resolved through `dns_address`: HTTP-01 connects to port 80 of the address the DNS
gives, DNS-01 asks it for the TXT records.
"""

import datetime
import hashlib
import json
import os
import re
import subprocess
import threading

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .ports import free_tcp_port
from .processes import start_process

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_SCRIPT = os.path.join(REPO_ROOT, 'scripts', 'build-step-ca.sh')

_binary = None
_binary_lock = threading.Lock()


class StepCAError(RuntimeError):
    """step-ca could not be built or started."""


def step_ca_binary():
    """Path of the step-ca binary; the build script runs once per process (it caches)."""
    global _binary
    with _binary_lock:
        if _binary is None:
            done = subprocess.run(['bash', BUILD_SCRIPT], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=900, check=False)
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines or not os.access(lines[-1], os.X_OK):
                raise StepCAError('%s failed (rc=%d):\n%s%s' % (
                    BUILD_SCRIPT, done.returncode, done.stdout, done.stderr[-4000:]))
            _binary = lines[-1]
    return _binary


_DURATION_RE = re.compile(r'(\d+(?:\.\d+)?)(h|m|s|ms)')
_UNIT_SECONDS = {'h': 3600, 'm': 60, 's': 1, 'ms': 0.001}


def duration_seconds(text):
    """Seconds of a Go duration string such as '24h', '5m' or '1h30m'."""
    parts = _DURATION_RE.findall(text)
    if not parts or ''.join(n + u for n, u in parts) != text:
        raise ValueError('not a Go duration: %r' % (text,))
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def _ca_certificate(subject_cn, key, issuer_cert, issuer_key, path_length, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'autotls testbed'),
                         x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True, crl_sign=True,
                   content_commitment=False, key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_cert is not None:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)


class StepCA:
    """A step-ca with one ACME provisioner named `acme`, on a free loopback port.

    cert_duration: default lifetime of issued certificates (Go duration, e.g. '24h', '5m').
    min_duration / max_duration: the bounds a client may ask for (default: step-ca's own
    5m / 24h, widened so that cert_duration always fits).
    """

    def __init__(self, dns_address, workdir, cert_duration='24h', min_duration=None,
                 max_duration=None, address='127.0.0.1', port=None, name='step-ca'):
        self.dns_address = dns_address
        self.workdir = str(workdir)
        self.cert_duration = cert_duration
        default = duration_seconds(cert_duration)
        self.min_duration = min_duration or ('5m' if default >= 300 else cert_duration)
        self.max_duration = max_duration or ('24h' if default <= 86400 else cert_duration)
        self.address = address
        self.port = port or free_tcp_port(address)
        self.name = name
        self.process = None
        self.root_pem = None
        self.root_fingerprint = None
        self.intermediate_pem = None
        self.root_path = os.path.join(self.workdir, 'root_ca.crt')
        self.intermediate_path = os.path.join(self.workdir, 'intermediate_ca.crt')
        self.intermediate_key_path = os.path.join(self.workdir, 'intermediate_ca_key')
        self.config_path = os.path.join(self.workdir, 'ca.json')

    # ---- addresses ----------------------------------------------------------------------

    @property
    def url(self):
        """Base URL of the CA (no trailing slash)."""
        return 'https://%s:%d' % (self.address, self.port)

    @property
    def directory_url(self):
        return self.url + '/acme/acme/directory'

    # ---- set-up -------------------------------------------------------------------------

    def _make_pki(self):
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = _ca_certificate('autotls testbed step-ca root', root_key, None, None, 1, 3650)
        inter_key = ec.generate_private_key(ec.SECP256R1())
        inter = _ca_certificate('autotls testbed step-ca intermediate', inter_key, root, root_key, 0, 365)
        self.root_pem = root.public_bytes(serialization.Encoding.PEM).decode('ascii')
        self.intermediate_pem = inter.public_bytes(serialization.Encoding.PEM).decode('ascii')
        self.root_fingerprint = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest()
        # step-ca 0.19 loads an unencrypted intermediate key without --password-file (and
        # without prompting), so no password is involved. The key is private all the same.
        _write(self.intermediate_key_path, inter_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), 0o600)
        _write(self.root_path, self.root_pem.encode('ascii'))
        _write(self.intermediate_path, self.intermediate_pem.encode('ascii'))

    def _config(self):
        return {
            'root': self.root_path,
            'crt': self.intermediate_path,
            'key': self.intermediate_key_path,
            'address': '%s:%d' % (self.address, self.port),
            'dnsNames': sorted({'localhost', '127.0.0.1', self.address}),
            'logger': {'format': 'text'},
            'db': {'type': 'badgerv2', 'dataSource': os.path.join(self.workdir, 'db')},
            'authority': {
                'provisioners': [{'type': 'ACME', 'name': 'acme'}],
                'claims': {
                    'defaultTLSCertDuration': self.cert_duration,
                    'minTLSCertDuration': self.min_duration,
                    'maxTLSCertDuration': self.max_duration,
                },
            },
            'tls': {'minVersion': 1.2, 'maxVersion': 1.3, 'renegotiation': False},
        }

    def start(self, timeout=30.0):
        os.makedirs(self.workdir, exist_ok=True)
        binary = step_ca_binary()
        self._make_pki()
        with open(self.config_path, 'w') as f:
            json.dump(self._config(), f, indent=2)
        # STEPPATH: step-ca creates that directory at start; keep it out of $HOME.
        env = dict(os.environ, STEPPATH=os.path.join(self.workdir, 'steppath'))
        self.process = start_process(
            [binary, '--resolver', self.dns_address, self.config_path],
            self.workdir, name=self.name, env=env, cwd=self.workdir)
        try:
            self.process.wait_ready(self._healthy, timeout, what='%s at %s' % (self.name, self.url))
        except BaseException:
            self.stop()
            raise
        return self

    def _healthy(self):
        response = requests.get(self.url + '/health', verify=self.root_path, timeout=2)
        return response.ok and response.json().get('status') == 'ok'

    # ---- use ----------------------------------------------------------------------------

    def get(self, path, **kwargs):
        """GET a path of the CA, verified against its root."""
        kwargs.setdefault('timeout', 10)
        return requests.get(self.url + path, verify=self.root_path, **kwargs)

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
