# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bootstrap trust in a private CA (Smallstep step-ca) from its root's SHA-256 fingerprint.

The operator knows one short value out of band: the fingerprint of the CA's root. The
root itself is then fetched from the CA over an HTTPS connection that is *not* verified
(nothing can verify it yet: that root is what we are after) and accepted only if its
SHA-256 over DER equals the fingerprint. Then the CA's own TLS endpoint is checked
against that root, which shows the CA is the one the root speaks for.

step-ca endpoints used:
  GET /root/<sha256 hex>  ->  {"ca": "<PEM>"}      (what `step ca bootstrap` uses)
  GET /roots.pem          ->  PEM bundle of every root
  GET /roots              ->  {"crts": ["<PEM>", ...]}  (answered with 201 by 0.19)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings

from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import split_pem_chain
from ansible_collections.autotls.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.autotls.acme.plugins.module_utils._common.retry import (
    RETRYABLE_HTTP_STATUS,
    RetriesExhausted,
    RetryPolicy,
    TryAgain,
    parse_retry_after,
    retry,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AcmeNetworkError,
    AutoTLSError,
    ConfigurationError,
)

try:
    import requests
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    HAS_REQUESTS = False

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    pass

FETCH_MODES = ('root', 'roots')
ROOT_FILE_MODE = 0o644

_HEX64 = re.compile(r'^[0-9a-f]{64}$')
_ACME_PATH = re.compile(r'/acme/[^/]+/directory/?$')


class RootFingerprintMismatch(AutoTLSError):
    """The CA served no root with the expected fingerprint: nothing is trusted or written."""


class CAResponseError(AutoTLSError):
    """The CA answered, but not with what a root endpoint returns."""


# ---- fingerprints -----------------------------------------------------------------------

def normalize_fingerprint(value):
    """64 lowercase hex digits from a SHA-256 fingerprint written any usual way.

    Accepts upper or lower case, with or without `:` (OpenSSL style), `-` or spaces
    between the bytes, and an optional `sha256:` / `SHA256 Fingerprint=` prefix.
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError('fingerprint is required: the SHA-256 fingerprint of the CA root '
                                 '(as printed by `step certificate fingerprint root_ca.crt`)')
    text = value.strip().lower()
    for prefix in ('sha256 fingerprint=', 'sha256:', 'sha256='):
        if text.startswith(prefix):
            text = text[len(prefix):]
    digits = re.sub(r'[\s:\-]', '', text)
    if not _HEX64.match(digits):
        hint = ''
        if re.match(r'^[0-9a-f]{40}$', digits):
            hint = ' (this looks like a SHA-1 fingerprint; a SHA-256 one is required)'
        raise ConfigurationError(
            'fingerprint %r is not a SHA-256 fingerprint: expected 64 hex digits, with or without '
            'colons%s' % (value, hint))
    return digits


def fingerprint_of(cert):
    """SHA-256 over the certificate's DER, as 64 lowercase hex digits."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def describe_root(cert):
    """Public facts about a root: what the module returns besides the PEM."""
    return {
        'fingerprint': fingerprint_of(cert),
        'subject': cert.subject.rfc4514_string(),
        'not_after': cert.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ'),
    }


def base_url(url):
    """The CA's base URL: https://host:port, from it or from its ACME directory URL.

    step-ca serves its ACME directory at <base>/acme/<provisioner>/directory, so the
    directory URL an inventory already holds works too.
    """
    if not url or not isinstance(url, str):
        raise ConfigurationError('url is required: the CA base URL, e.g. https://ca.internal:9443')
    url = url.strip()
    if not url.lower().startswith('https://'):
        raise ConfigurationError(
            'url must start with https:// (got %r): the CA\'s TLS endpoint is checked against '
            'the root it serves' % url)
    url = _ACME_PATH.sub('', url)
    return url.rstrip('/')


def _load_pems(pem_blobs, source):
    certs = []
    for pem in pem_blobs:
        try:
            certs.append(x509.load_pem_x509_certificate(pem))
        except ValueError as exc:
            raise CAResponseError('%s returned a certificate that does not parse: %s' % (source, exc))
    return certs


def parse_root_response(response_text, source):
    """Certificates from any root endpoint's answer: JSON {"ca": PEM}, {"crts": [PEM...]}
    (step-ca) or a plain PEM bundle. Raises CAResponseError when there is none."""
    text = response_text.strip()
    blobs = []
    if text.startswith('{'):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise CAResponseError('%s returned invalid JSON: %s' % (source, exc))
        values = []
        if isinstance(doc, dict):
            if isinstance(doc.get('ca'), str):
                values.append(doc['ca'])
            if isinstance(doc.get('crts'), list):
                values.extend(v for v in doc['crts'] if isinstance(v, str))
        for value in values:
            blobs.extend(split_pem_chain(value))
    else:
        blobs = split_pem_chain(text)
    if not blobs:
        raise CAResponseError('%s returned no certificate (expected JSON {"ca": PEM}, {"crts": [...]} '
                              'or a PEM bundle); got: %s' % (source, text[:200] or '(empty body)'))
    return _load_pems(blobs, source)


# ---- talking to the CA ------------------------------------------------------------------

class FetchedRoot:
    """The root that matched, and what else was seen."""

    def __init__(self, cert, source_url, ignored):
        self.cert = cert
        self.source_url = source_url
        self.ignored = ignored  # how many other roots the CA served (not trusted)

    @property
    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode('ascii')

    @property
    def fingerprint(self):
        return fingerprint_of(self.cert)


class CARootsClient:
    """Fetches a CA's root by fingerprint and checks the CA's endpoint against it."""

    def __init__(self, url, fingerprint, timeout=30, attempts=3, session=None):
        self.url = base_url(url)
        self.fingerprint = normalize_fingerprint(fingerprint)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.session = session or requests.Session()

    def _get(self, path, verify):
        """GET url+path; connection errors and 408/429/5xx are retried a few times.

        With verification on, a TLS verification failure is raised as requests' SSLError
        (verify_endpoint reports it); every other failure becomes AcmeNetworkError.
        """
        url = self.url + path

        def attempt(_number):
            try:
                with warnings.catch_warnings():
                    # The unverified first fetch is deliberate (see _get_unverified).
                    warnings.filterwarnings('ignore', message='Unverified HTTPS request')
                    response = self.session.get(url, verify=verify, timeout=self.timeout)
            except requests.exceptions.SSLError as exc:
                if verify is not False:
                    raise
                raise AcmeNetworkError('Could not fetch %s: TLS handshake failed: %s' % (url, exc), url=url)
            except requests.exceptions.RequestException as exc:
                raise TryAgain('Could not fetch %s: %s' % (url, exc))
            if response.status_code in RETRYABLE_HTTP_STATUS:
                raise TryAgain('Could not fetch %s: HTTP %d %s' % (url, response.status_code, response.text[:200]),
                               parse_retry_after(response.headers.get('Retry-After')))
            return response

        try:
            return retry(attempt, RetryPolicy(attempts=self.attempts, backoff=0.5, max_backoff=2.0,
                                              retry_after_cap=5.0), what=url)
        except RetriesExhausted as exc:
            raise AcmeNetworkError('%s (after %d attempts)' % (exc.last_reason, exc.attempts), url=url)

    def _get_unverified(self, path):
        # Verification is off for this request on purpose: the root we fetch is the
        # trust anchor we do not have yet, so there is nothing to verify the CA's TLS
        # certificate against. Trust comes from the fingerprint check that follows: a
        # man in the middle can change the bytes, but not make them hash to the
        # fingerprint the operator gave. The answer is never used before that check.
        return self._get(path, verify=False)

    def fetch(self, mode='root'):
        """The root whose fingerprint matches, fetched by `mode` (root or roots)."""
        if mode not in FETCH_MODES:
            raise ConfigurationError('fetch must be one of %s, got %r' % (', '.join(FETCH_MODES), mode))
        if mode == 'root':
            return self._fetch_root()
        return self._fetch_roots()

    def _fetch_root(self):
        path = '/root/%s' % self.fingerprint
        response = self._get_unverified(path)
        source = 'GET %s' % (self.url + path)
        if response.status_code == 404:
            # Name what the CA does have, so a typo and a wrong CA are told apart.
            served = self._served_fingerprints()
            raise RootFingerprintMismatch(
                'The CA at %s has no root with SHA-256 fingerprint %s (%s answered 404). %s'
                'Nothing was trusted or written; check the fingerprint option (or '
                'autotls_ca_root_fingerprint).' % (
                    self.url, self.fingerprint, source,
                    'The roots it serves have fingerprints: %s. ' % ', '.join(served) if served else ''),
                expected_fingerprint=self.fingerprint, actual_fingerprints=served)
        if not response.ok:
            raise CAResponseError('%s answered HTTP %d: %s' % (source, response.status_code, response.text[:300]),
                                  url=self.url + path, status=response.status_code)
        certs = parse_root_response(response.text, source)
        return self._select(certs, source)

    def _fetch_roots(self):
        source = 'GET %s' % (self.url + '/roots.pem')
        response = self._get_unverified('/roots.pem')
        if response.status_code == 404:
            source = 'GET %s' % (self.url + '/roots')
            response = self._get_unverified('/roots')
        if not response.ok:  # step-ca answers /roots with 201, hence ok rather than == 200
            raise CAResponseError('%s answered HTTP %d: %s' % (source, response.status_code, response.text[:300]),
                                  status=response.status_code)
        return self._select(parse_root_response(response.text, source), source)

    def _select(self, certs, source):
        matching = [c for c in certs if fingerprint_of(c) == self.fingerprint]
        if not matching:
            actual = [fingerprint_of(c) for c in certs]
            raise RootFingerprintMismatch(
                'Refusing the root served by %s: expected SHA-256 fingerprint %s, but the CA sent %s. '
                'Nothing was trusted or written. Check the fingerprint option (or '
                'autotls_ca_root_fingerprint), and that %s really is your CA and not a proxy '
                'or an impostor in between.' % (
                    self.url, self.fingerprint,
                    ', '.join('%s (%s)' % (fp, c.subject.rfc4514_string()) for fp, c in zip(actual, certs)),
                    self.url),
                expected_fingerprint=self.fingerprint, actual_fingerprints=actual)
        return FetchedRoot(matching[0], source.split(' ', 1)[1], len(certs) - 1)

    def _served_fingerprints(self):
        try:
            response = self._get_unverified('/roots.pem')
            if response.ok:
                return [fingerprint_of(c) for c in parse_root_response(response.text, '/roots.pem')]
        except AutoTLSError:
            pass
        return []

    def verify_endpoint(self, root, path='/health'):
        """Whether the CA's TLS certificate verifies against `root` (hostname included).

        Returns (verified, error message or None). Any HTTP answer counts: the handshake
        is what is being checked.
        """
        fd, bundle = tempfile.mkstemp(prefix='autotls-root-', suffix='.pem')
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(root.pem)
            try:
                self._get(path, verify=bundle)
            except requests.exceptions.SSLError as exc:
                return False, 'TLS verification of %s against the fetched root failed: %s' % (self.url, exc)
            except AcmeNetworkError as exc:
                return False, str(exc)
            return True, None
        finally:
            os.unlink(bundle)


# ---- the file ---------------------------------------------------------------------------

def install_root(dest, pem, check_mode=False, mode=ROOT_FILE_MODE):
    """Write the root PEM to `dest` atomically unless it is already there.

    Returns (changed, previous content or None). Nothing is written in check mode.
    """
    if isinstance(pem, str):
        pem = pem.encode('ascii')
    if os.path.isdir(dest):
        raise ConfigurationError('dest %s is a directory: give the path of the file to write' % dest)
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise ConfigurationError('The directory of dest does not exist: %s' % parent)
    try:
        with open(dest, 'rb') as handle:
            before = handle.read()
        same_mode = (os.stat(dest).st_mode & 0o7777) == mode
    except FileNotFoundError:
        before, same_mode = None, False
    changed = before != pem or not same_mode
    if changed and not check_mode:
        try:
            atomic_write(dest, pem, mode)
        except OSError as exc:
            raise ConfigurationError('Could not write %s: %s' % (dest, exc))
    return changed, before


def kept_root(dest, fingerprint):
    """The root already in ``dest`` when it has exactly ``fingerprint``, else None."""
    if not dest:
        return None
    try:
        with open(dest, 'rb') as handle:
            certs = split_pem_chain(handle.read())
    except OSError:
        return None
    if len(certs) != 1:
        return None
    try:
        cert = x509.load_pem_x509_certificate(certs[0])
    except ValueError:
        return None
    return cert if fingerprint_of(cert) == fingerprint else None


def bootstrap(url, fingerprint, fetch='root', dest=None, timeout=30, check_mode=False):
    """Fetch, check, verify and (unless check_mode) install; returns the module result.

    A CA that cannot be reached while ``dest`` already holds the root with this very
    fingerprint (an earlier run fetched and checked it) is no reason to stop: that root is
    returned as it is, with ``ca_unreachable`` and the reason in ``endpoint_error``, so a
    run can still trust the CA's certificates and move its orders to another issuer.
    """
    client = CARootsClient(url, fingerprint, timeout=timeout)
    try:
        root = client.fetch(fetch)
    except AcmeNetworkError as exc:
        kept = kept_root(dest, client.fingerprint)
        if kept is None:
            raise
        pem = kept.public_bytes(serialization.Encoding.PEM).decode('ascii')
        return dict(describe_root(kept), changed=False, root_pem=pem, dest=dest, url=client.url, source_url=dest,
                    endpoint_verified=False, endpoint_error=str(exc), ignored_roots=0, ca_unreachable=True)
    verified, error = client.verify_endpoint(root, path=root.source_url[len(client.url):])
    result = dict(describe_root(root.cert), changed=False, root_pem=root.pem, dest=dest,
                  url=client.url, source_url=root.source_url, endpoint_verified=verified,
                  ignored_roots=root.ignored, ca_unreachable=False)
    if error:
        result['endpoint_error'] = error
    if dest:
        changed, before = install_root(dest, root.pem, check_mode)
        result['changed'] = changed
        result['diff'] = {'before': (before or b'').decode('ascii', 'replace'), 'after': root.pem,
                          'before_header': dest, 'after_header': dest}
    return result
