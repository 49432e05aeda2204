# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A throwaway CA and a server certificate for test listeners (Pebble's HTTPS, nginx).

Clients trust `ca_cert` as their CA bundle. The extensions are those strict verifiers
(Go, OpenSSL with X509_STRICT, newer Pythons) insist on: key identifiers, key usage,
basic constraints on both certificates.
"""

import dataclasses
import datetime
import ipaddress
import os
import socket
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    ca_cert: str   # PEM of the CA: what clients verify against
    cert: str      # PEM of the server certificate (leaf only)
    key: str       # PEM of the server key (PKCS#8, unencrypted)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject, issuer, public_key, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            # Backdated a little so clock skew between processes never matters.
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def make_ca(common_name='autotls testbed CA', days=30):
    """A self-signed CA: returns (certificate, private key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(_name(common_name), _name(common_name), key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_server_cert(ca_cert, ca_key, names=('localhost',), ips=('127.0.0.1',), days=30):
    """A server certificate signed by the CA for DNS `names` and IP `ips`: (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    common_name = names[0] if names else ips[0]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (_builder(_name(common_name), ca_cert.subject, key.public_key(), days)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=False, crl_sign=False,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_server_tls(directory, extra_names=(), extra_ips=(), prefix='server'):
    """Make a CA and a server cert (SAN localhost, 127.0.0.1 + extras) as files in `directory`."""
    os.makedirs(directory, exist_ok=True)
    ca_cert, ca_key = make_ca()
    cert, key = make_server_cert(ca_cert, ca_key, names=('localhost',) + tuple(extra_names),
                                 ips=('127.0.0.1',) + tuple(extra_ips))
    files = TlsFiles(ca_cert=os.path.join(directory, '%s-ca.pem' % prefix),
                     cert=os.path.join(directory, '%s-cert.pem' % prefix),
                     key=os.path.join(directory, '%s-key.pem' % prefix))
    for path, data in ((files.ca_cert, cert_pem(ca_cert)), (files.cert, cert_pem(cert)),
                       (files.key, key_pem(key))):
        # The key file is private even in a temp dir.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if path == files.key else 0o644)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
    return files


def served_serial(address, server_name, port=443, timeout=5):
    """Serial (hex) of the certificate a TLS endpoint presents for ``server_name``, unverified."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    return '%x' % x509.load_der_x509_certificate(der).serial_number


# ---- a two-level PKI (root, intermediate, leaves) with chosen validity -------------------

def sign_certificate(subject_cn, issuer, public_key, signer_key, *, ca, start, end, names=(), ips=()):
    """A certificate for `subject_cn` signed by `signer_key` (`issuer` None: self-signed)."""
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject_cn))
               .issuer_name(issuer.subject if issuer is not None else _name(subject_cn))
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=ca, crl_sign=ca, content_commitment=False,
                   key_encipherment=False, data_encipherment=False, key_agreement=False,
                   encipher_only=False, decipher_only=False), critical=True))
    if issuer is not None:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    if not ca:
        sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = (builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(signer_key, hashes.SHA256())


class Pki:
    """A root and an intermediate under it ('<name> Root', '<name> Intermediate'); leaves
    under the intermediate with any validity window, relative to `now`."""

    def __init__(self, name='Test', now=None):
        self.now = now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        since = self.now - datetime.timedelta(days=10)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = sign_certificate('%s Root' % name, None, self.root_key.public_key(), self.root_key, ca=True,
                                     start=since, end=self.now + datetime.timedelta(days=3650))
        self.inter_key = ec.generate_private_key(ec.SECP256R1())
        self.inter = sign_certificate('%s Intermediate' % name, self.root, self.inter_key.public_key(),
                                      self.root_key, ca=True, start=since, end=self.now + datetime.timedelta(days=1825))

    def leaf_and_key(self, names=('a.example.test',), ips=(), start=None, end=None):
        """(certificate, key); by default valid from a day ago for 90 days."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = start or self.now - datetime.timedelta(days=1)
        end = end or start + datetime.timedelta(days=90)
        cert = sign_certificate(names[0] if names else 'ip', self.inter, key.public_key(), self.inter_key, ca=False,
                                start=start, end=end, names=names, ips=ips)
        return cert, key

    def leaf(self, names=('a.example.test',), ips=(), start=None, end=None):
        return self.leaf_and_key(names, ips, start, end)[0]

    def fullchain(self, leaf):
        return cert_pem(leaf) + cert_pem(self.inter)

    def write(self, directory, names, days=90, age_days=1, ips=('127.0.0.1',)):
        """fullchain.pem (leaf + intermediate) and privkey.pem (0600) for `names`, issued
        `age_days` ago for `days`; returns (fullchain path, key path, leaf)."""
        start = self.now - datetime.timedelta(days=age_days)
        cert, key = self.leaf_and_key(names, ips, start, start + datetime.timedelta(days=days))
        os.makedirs(directory, exist_ok=True)
        fullchain = os.path.join(directory, 'fullchain.pem')
        keyfile = os.path.join(directory, 'privkey.pem')
        with open(fullchain, 'wb') as handle:
            handle.write(self.fullchain(cert))
        with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as handle:
            handle.write(key_pem(key))
        return fullchain, keyfile, cert
