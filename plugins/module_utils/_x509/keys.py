# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private keys and CSRs: generation by key type, detection, PEM round trips."""

from __future__ import annotations

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    ConfigurationError,
    KeyMaterialError,
)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    HAS_CRYPTOGRAPHY = False

KEY_TYPES = ('ec256', 'ec384', 'rsa2048', 'rsa3072', 'rsa4096')
_CURVES = {'ec256': 'secp256r1', 'ec384': 'secp384r1'}


def generate_private_key(key_type):
    if key_type in _CURVES:
        curve = ec.SECP256R1() if key_type == 'ec256' else ec.SECP384R1()
        return ec.generate_private_key(curve)
    if key_type.startswith('rsa') and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    raise ConfigurationError('Unknown key_type %r: use one of %s' % (key_type, ', '.join(KEY_TYPES)))


def key_type_of(public_key):
    """The key_type name (ec256, rsa2048, ...) of a public key, or None if unsupported."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {'secp256r1': 'ec256', 'secp384r1': 'ec384'}.get(public_key.curve.name)
    if isinstance(public_key, rsa.RSAPublicKey):
        name = 'rsa%d' % public_key.key_size
        return name if name in KEY_TYPES else None
    return None


def key_matches_certificate(key_pem, cert):
    """Whether the private key in ``key_pem`` belongs to ``cert``; False when it cannot be read."""
    if not key_pem:
        return False
    try:
        key = load_private_key(key_pem)
    except KeyMaterialError:
        return False
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)


def private_key_to_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem, what='private key', passphrase=None):
    if isinstance(pem, str):
        pem = pem.encode('utf-8')
    if isinstance(passphrase, str):
        passphrase = passphrase.encode('utf-8')
    try:
        return serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        # The exception text never contains key material, only the parse failure.
        raise KeyMaterialError('Could not load the %s: %s' % (what, exc))


def make_csr(private_key, domains):
    """A CSR for ``domains`` (all in the SAN; the first one also as CN when short enough)."""
    builder = x509.CertificateSigningRequestBuilder()
    if len(domains[0]) <= 64:
        builder = builder.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
    else:
        builder = builder.subject_name(x509.Name([]))
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
    csr = builder.sign(private_key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)
