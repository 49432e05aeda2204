# -*- coding: utf-8 -*-
# Copyright: autotls.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME Renewal Information (RFC 9773): the CA's suggested renewal window, and ``replaces``."""

from __future__ import annotations

import base64
import datetime

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - modules report missing_required_lib
    pass


def _b64url(data):
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def ari_cert_id(cert):
    """The RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial)."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    if aki.key_identifier is None:
        return None
    serial = cert.serial_number
    # DER INTEGER content: big-endian two's complement, so room for the sign bit.
    serial_bytes = serial.to_bytes((serial.bit_length() + 8) // 8, 'big')
    return '%s.%s' % (_b64url(aki.key_identifier), _b64url(serial_bytes))


def offers_ari(session):
    try:
        return bool(session.directory['renewalInfo'])
    except KeyError:
        return False


def suggested_renewal_time(session, cert_pem):
    """When the CA suggests renewing (a random point of its window), or None without ARI.

    certbot's client does the fetch and the random choice inside the window that RFC 9773
    asks for, so that a fleet does not renew at the same second.
    """
    if not offers_ari(session):
        return None
    try:
        when, _next_check = session.client().renewal_time(cert_pem)
    except Exception as exc:  # pylint: disable=broad-except
        # ARI is advice: failing to get it must never stop a run, only be reported.
        raise AutoTLSError('could not read the renewal information (ARI) from the CA: %s' % exc)
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when
