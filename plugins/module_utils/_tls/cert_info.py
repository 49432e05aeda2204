# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Expiry checks: certificate files, PEM content and live TLS endpoints, side by side.

Everything here reports; nothing trusts. Endpoints are fetched with verification off
(an expired or mis-issued certificate is exactly what we want to see), then the
presented chain is verified separately against the roots the caller names.

An endpoint that does not answer is a result (``reachable: false``), never an
exception: one dead host must not hide the report of five hundred live ones.
"""

from __future__ import annotations

import concurrent.futures
import errno
import ipaddress
import os
import select
import socket
import ssl
import threading

from ansible_collections.autotls.acme.plugins.module_utils._x509.certificates import (
    certificate_names,
    describe,
    load_certificate,
    split_pem_chain,
    utcnow,
)
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import load_private_key
from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import PORT_RANGE, check_range
from ansible_collections.autotls.acme.plugins.module_utils._acme.schedule import check_run_interval, schedule_fit
from ansible_collections.autotls.acme.plugins.module_utils._common.deadline import Deadline
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    AutoTLSError,
    ConfigurationError,
    KeyMaterialError,
)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    HAS_CRYPTOGRAPHY = False

try:
    from cryptography.x509 import verification as x509_verification
    HAS_X509_VERIFICATION = True
except ImportError:  # cryptography < 42: chains are reported as not checked
    HAS_X509_VERIFICATION = False

try:
    from OpenSSL import SSL
    HAS_PYOPENSSL = True
except ImportError:  # stdlib ssl then; it shows only the leaf before Python 3.13
    HAS_PYOPENSSL = False

# Statuses, most urgent first: a result gets the first that applies. ``unverified``: the
# chain could not be checked at all (no roots, no name, an old cryptography): never ``ok``.
STATUSES = ('missing', 'invalid', 'unreachable', 'expired', 'key_mismatch', 'name_mismatch', 'chain_invalid',
            'unverified', 'due', 'ok')
# The statuses that mean something is wrong (check.yml fails on them); ``due`` is work, not a fault.
PROBLEM_STATUSES = ('missing', 'invalid', 'unreachable', 'expired', 'key_mismatch', 'name_mismatch',
                    'chain_invalid', 'unverified')
MAX_TIMEOUT = 600
MAX_CONCURRENCY = 1000
# The label put in place of a wildcard's star when a name must be checked for a wildcard-only certificate.
WILDCARD_PROBE_LABEL = 'www'


class EndpointError(AutoTLSError):
    """An endpoint could not be reached or did not complete a TLS handshake (reported, not raised to the module)."""


# ---- names -------------------------------------------------------------------------------

def _ip_or_none(value):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def certificate_ips(cert):
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.IPAddress)


def name_covered(name, dns_names, ips=()):
    """Whether ``name`` (a DNS name or an IP address) is covered by the SAN entries.

    A wildcard covers exactly one leftmost label (``*.example.com`` covers
    ``a.example.com``, not ``example.com`` nor ``a.b.example.com``), as browsers match.
    """
    address = _ip_or_none(name)
    if address is not None:
        return address in ips
    name = name.lower().rstrip('.')
    for pattern in dns_names:
        pattern = pattern.lower().rstrip('.')
        if pattern == name:
            return True
        if pattern.startswith('*.'):
            head, dot, rest = name.partition('.')
            if head and dot and rest == pattern[2:]:
                return True
    return False


def probe_name(cert):
    """A name the certificate is meant for, to verify a stored certificate's chain with.

    The first non-wildcard DNS name; for a wildcard-only certificate a name the wildcard
    covers; else the first IP address; None when the certificate names nothing.
    """
    names = certificate_names(cert)
    plain = [n for n in names if not n.startswith('*.')]
    if plain:
        return plain[0]
    if names:
        return WILDCARD_PROBE_LABEL + names[0][1:]
    ips = certificate_ips(cert)
    return str(ips[0]) if ips else None


# ---- roots and chain verification --------------------------------------------------------

def load_roots(ca_bundle=None, root_pem=None, system_roots=None):
    """The trust anchors to verify chains against, from a file, PEM text and/or the system bundle.

    ``system_roots``: True adds the system bundle, False never uses it, None (the default)
    uses it when neither ``ca_bundle`` nor ``root_pem`` is given, as a browser would.
    """
    if system_roots is None:
        system_roots = not (ca_bundle or root_pem)
    roots = []
    sources = []
    if ca_bundle:
        try:
            with open(ca_bundle, 'rb') as handle:
                data = handle.read()
        except OSError as exc:
            raise ConfigurationError('Could not read ca_bundle %s: %s' % (ca_bundle, exc.strerror or exc))
        found = [load_certificate(pem) for pem in split_pem_chain(data)]
        if not found:
            raise ConfigurationError('ca_bundle %s holds no PEM certificate' % ca_bundle)
        roots.extend(found)
        sources.append(ca_bundle)
    if root_pem:
        found = [load_certificate(pem) for pem in split_pem_chain(root_pem)]
        if not found:
            raise ConfigurationError('root_pem holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)')
        roots.extend(found)
        sources.append('root_pem')
    if system_roots:
        path = _system_bundle()
        if path is None:
            raise ConfigurationError('system_roots: no system CA bundle found (looked at %s)'
                                     % ', '.join(_system_bundle_candidates()))
        for pem in split_pem_chain(_read(path)):
            try:
                roots.append(load_certificate(pem))
            except KeyMaterialError:
                continue  # one odd entry in a distribution bundle must not disable the check
        sources.append(path)
    return roots, sources


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def _system_bundle_candidates():
    paths = ssl.get_default_verify_paths()
    return [p for p in (os.environ.get('SSL_CERT_FILE'), paths.cafile, paths.openssl_cafile,
                        '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt',
                        '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem') if p]


def _system_bundle():
    for path in _system_bundle_candidates():
        if os.path.isfile(path):
            return path
    return None


def _subject_cn(cert):
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return repr(attrs[0].value) if attrs else cert.subject.rfc4514_string()


class ChainVerifier:
    """Verifies leaf + intermediates up to one of ``roots`` for a name, at one moment."""

    def __init__(self, roots, now):
        self.roots = list(roots)
        self.now = now
        self._store = None
        if self.roots and HAS_X509_VERIFICATION:
            self._store = x509_verification.Store(self.roots)

    def verify(self, leaf, intermediates, name):
        """(chain_verified, chain_error): (None, why) when it could not be checked at all."""
        if not self.roots:
            return None, 'no roots given (ca_bundle, root_pem or system_roots)'
        if not HAS_X509_VERIFICATION:
            return None, 'chain verification needs cryptography >= 42'
        if not name:
            return None, 'the certificate names no DNS name or IP address to verify it for'
        address = _ip_or_none(name)
        subject = (x509_verification.IPAddress(address) if address is not None
                   else x509_verification.DNSName(name.rstrip('.')))
        builder = x509_verification.PolicyBuilder().store(self._store).time(self.now)
        try:
            builder.build_server_verifier(subject).verify(leaf, intermediates)
        except x509_verification.VerificationError as exc:
            message = str(exc)
            if 'candidates exhausted' in message:
                # The verifier's own words do not say what is missing; this does.
                top = intermediates[-1] if intermediates else leaf
                message = ('no path to the given roots: the issuer of %s (%s) is neither among the %d root(s) '
                           'nor among the %d intermediate(s) presented (%s)'
                           % (_subject_cn(top), top.issuer.rfc4514_string(), len(self.roots),
                              len(intermediates), message))
            return False, message
        except ValueError as exc:  # e.g. a name the verifier cannot take as a DNS name
            return False, 'cannot verify for %r: %s' % (name, exc)
        return True, None


# ---- fetching what an endpoint presents -------------------------------------------------

def endpoint_backend():
    """How endpoint chains are fetched here: pyopenssl (full chain), ssl (full chain, Python 3.13+) or ssl-leaf."""
    if HAS_PYOPENSSL:
        return 'pyopenssl'
    if hasattr(ssl.SSLSocket, 'get_unverified_chain'):
        return 'ssl'
    return 'ssl-leaf'


def _connect(host, port, deadline):
    what = '%s:%s' % (host, port)
    try:
        return socket.create_connection((host, port), timeout=max(0.001, deadline.remaining()))
    except socket.timeout:
        raise EndpointError('%s: no TCP connection within %.3g s' % (what, deadline.seconds))
    except socket.gaierror as exc:
        raise EndpointError('%s: cannot resolve %s: %s' % (what, host, exc.strerror or exc))
    except OSError as exc:
        raise EndpointError('%s: %s' % (what, exc.strerror or exc))


def _sni(server_name):
    # RFC 6066: no IP literals in SNI.
    if not server_name or _ip_or_none(server_name) is not None:
        return None
    return server_name.rstrip('.')


def _sni_bytes(name):
    try:
        return name.encode('idna')
    except UnicodeError:  # e.g. an underscore or an over-long label: send it as it is
        return name.encode('ascii', 'replace')


_PYOPENSSL_CONTEXT = []
_PYOPENSSL_LOCK = threading.Lock()


def _pyopenssl_context():
    # One client context for every connection: configuring OpenSSL once is cheaper than
    # once per endpoint, and an SSL_CTX is safe to share between threads once set up.
    with _PYOPENSSL_LOCK:
        if not _PYOPENSSL_CONTEXT:
            ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
            try:
                ctx.set_verify(SSL.VERIFY_NONE)
            except TypeError:  # pragma: no cover - pyOpenSSL < 21 wants a callback
                ctx.set_verify(SSL.VERIFY_NONE, lambda *args: True)
            # We look at certificates and send no secrets: let legacy servers answer too.
            try:
                ctx.set_cipher_list(b'DEFAULT:@SECLEVEL=0')
            except SSL.Error:  # pragma: no cover - an OpenSSL without security levels
                pass
            _PYOPENSSL_CONTEXT.append(ctx)
        return _PYOPENSSL_CONTEXT[0]


def _wait(sock, for_write, deadline, what):
    remaining = deadline.remaining()
    if remaining <= 0:
        raise EndpointError('%s: no TLS handshake within %.3g s' % (what, deadline.seconds))
    # poll, not select: a scan with many sockets open may hold descriptors above FD_SETSIZE.
    poller = select.poll()
    poller.register(sock, select.POLLOUT if for_write else select.POLLIN)
    if not poller.poll(remaining * 1000):
        raise EndpointError('%s: no TLS handshake within %.3g s' % (what, deadline.seconds))


def _fetch_pyopenssl(host, port, server_name, deadline):
    what = '%s:%s' % (host, port)
    sock = _connect(host, port, deadline)
    try:
        sock.setblocking(False)
        conn = SSL.Connection(_pyopenssl_context(), sock)
        sni = _sni(server_name)
        if sni:
            conn.set_tlsext_host_name(_sni_bytes(sni))
        conn.set_connect_state()
        while True:
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                _wait(sock, False, deadline, what)
            except SSL.WantWriteError:
                _wait(sock, True, deadline, what)
            except SSL.SysCallError as exc:
                # (-1, 'Unexpected EOF') or (errno, text): the peer hung up mid-handshake.
                detail = exc.args[1] if len(exc.args) > 1 else str(exc)
                raise EndpointError('%s: connection closed during the TLS handshake (%s)' % (what, detail))
            except SSL.Error as exc:
                raise EndpointError('%s: TLS handshake failed: %s' % (what, _openssl_reason(exc)))
        try:
            chain = conn.get_peer_cert_chain(as_cryptography=True)
        except TypeError:  # pragma: no cover - pyOpenSSL < 24.3
            chain = [c.to_cryptography() for c in conn.get_peer_cert_chain() or []]
        if not chain:
            raise EndpointError('%s: the server presented no certificate' % what)
        return list(chain)
    finally:
        sock.close()


def _openssl_reason(exc):
    try:
        return '; '.join(str(item[2]) for item in exc.args[0]) or str(exc)
    except (IndexError, TypeError):
        return str(exc)


def _fetch_stdlib(host, port, server_name, deadline):
    what = '%s:%s' % (host, port)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = _connect(host, port, deadline)
    try:
        sock.settimeout(max(0.001, deadline.remaining()))
        try:
            tls = ctx.wrap_socket(sock, server_hostname=_sni(server_name))
        except socket.timeout:
            raise EndpointError('%s: no TLS handshake within %.3g s' % (what, deadline.seconds))
        except ssl.SSLError as exc:
            raise EndpointError('%s: TLS handshake failed: %s' % (what, exc.reason or exc))
        except OSError as exc:
            if exc.errno in (None, 0, errno.ECONNRESET):
                raise EndpointError('%s: connection closed during the TLS handshake' % what)
            raise EndpointError('%s: %s' % (what, exc.strerror or exc))
        try:
            # Python 3.13+: the whole presented chain, as DER.
            ders = list(tls.get_unverified_chain() or []) if hasattr(tls, 'get_unverified_chain') else []
            if not ders:
                leaf = tls.getpeercert(binary_form=True)
                ders = [leaf] if leaf else []
        finally:
            tls.close()
        if not ders:
            raise EndpointError('%s: the server presented no certificate' % what)
        return [x509.load_der_x509_certificate(der) for der in ders]
    finally:
        sock.close()


def fetch_chain(host, port, server_name, timeout, backend=None):
    """The certificates ``host:port`` presents for ``server_name``, leaf first.

    ``timeout`` bounds connect and handshake together. Raises EndpointError.
    """
    deadline = Deadline(timeout)
    backend = backend or endpoint_backend()
    if backend == 'pyopenssl':
        return _fetch_pyopenssl(host, port, server_name, deadline)
    return _fetch_stdlib(host, port, server_name, deadline)


# ---- inspection --------------------------------------------------------------------------

_EMPTY = ('expired', 'serial', 'domains', 'not_before', 'not_after', 'days_left', 'lifetime_fraction_left',
          'issuer', 'key_type', 'chain_verified', 'chain_error', 'chain_length', 'due', 'due_reason', 'renew_at',
          'matches_name', 'key_path', 'key_matches', 'key_error', 'error', 'schedule')


def _base(source, name, path=None, host=None, port=None, server_name=None):
    result = dict.fromkeys(_EMPTY)
    result.update(source=source, name=name, path=path, host=host, port=port, server_name=server_name,
                  reachable=None, status=None)
    return result


def status_of(result):
    """The most urgent status that applies to one result (see STATUSES)."""
    if result.get('status') in ('missing', 'invalid', 'unreachable'):
        return result['status']
    if result['expired']:
        return 'expired'
    if result.get('key_matches') is False:
        return 'key_mismatch'
    if result['matches_name'] is False:
        return 'name_mismatch'
    if result['chain_verified'] is False:
        return 'chain_invalid'
    if result['chain_verified'] is None:
        return 'unverified'
    if result['due']:
        return 'due'
    return 'ok'


class Inspector:
    """Checks files, PEM content and endpoints against one renewal policy and one set of roots.

    ``now`` is taken once, so every result of a run is judged at the same moment.
    ``fetch`` is ``fetch_chain`` unless a caller (a test) passes another.
    """

    def __init__(self, policy, roots=(), timeout=5.0, concurrency=50, now=None, backend=None, fetch=None,
                 run_interval=None, directory_url=None):
        if timeout is None or concurrency is None:
            raise ConfigurationError('timeout and concurrency must be numbers, got %r and %r' % (timeout, concurrency))
        check_range('timeout', timeout, 0, MAX_TIMEOUT, 'seconds', exclusive_minimum=True)
        check_range('concurrency', concurrency, 1, MAX_CONCURRENCY)
        self.policy = policy
        # Hours between scheduled runs: a lifetime that does not fit them is reported (see _acme/schedule.py).
        self.run_interval = None if run_interval is None else check_run_interval(run_interval)
        self.directory_url = directory_url
        self.now = now or utcnow()
        self.verifier = ChainVerifier(roots, self.now)
        self.timeout = float(timeout)
        self.concurrency = int(concurrency)
        self.backend = backend or endpoint_backend()
        self._fetch = fetch or fetch_chain

    def _facts(self, result, chain, verify_name):
        leaf = chain[0]
        result.update(describe(leaf, self.now))
        result['chain_length'] = len(chain)
        result['expired'] = self.now >= leaf.not_valid_after_utc
        verified, error = self.verifier.verify(leaf, chain[1:], verify_name)
        if verified is False and result['source'] == 'endpoint' and self.backend == 'ssl-leaf':
            verified, error = None, ('only the leaf could be fetched (install pyOpenSSL or use Python 3.13+): %s'
                                     % error)
        result['chain_verified'], result['chain_error'] = verified, error
        due, reason = self.policy.decide(leaf.not_valid_before_utc, leaf.not_valid_after_utc, self.now)
        result['due'], result['due_reason'] = due, reason
        result['renew_at'] = self.policy.renew_at(leaf.not_valid_before_utc, leaf.not_valid_after_utc).strftime(
            '%Y-%m-%dT%H:%M:%SZ')
        if self.run_interval is not None:
            result['schedule'] = schedule_fit(self.policy, leaf.not_valid_before_utc, leaf.not_valid_after_utc,
                                              self.run_interval, self.directory_url)
        return result

    def inspect_pem(self, pem, source='content', name=None, path=None):
        """Facts of the first certificate of ``pem``; the rest is its chain."""
        result = _base(source, name, path=path)
        try:
            chain = [load_certificate(item) for item in split_pem_chain(pem)]
            if not chain:
                raise KeyMaterialError('no PEM certificate found')
        except KeyMaterialError as exc:
            result.update(status='invalid', error=str(exc))
            return result
        self._facts(result, chain, probe_name(chain[0]))
        result['status'] = status_of(result)
        return result

    def inspect_file(self, path, key_path=None):
        """Facts of the certificate file ``path``; with ``key_path``, whether that key belongs to it."""
        try:
            data = _read(path)
        except OSError as exc:
            result = _base('file', path, path=path)
            result.update(status='missing', error='%s: %s' % (path, exc.strerror or exc), key_path=key_path or None)
            return result
        result = self.inspect_pem(data, source='file', name=path, path=path)
        if key_path and result['status'] != 'invalid':
            result['key_path'] = key_path
            result['key_matches'], result['key_error'] = key_matches_certificate(
                load_certificate(split_pem_chain(data)[0]), key_path)
            result['status'] = status_of(result)
        return result

    def inspect_endpoint(self, endpoint):
        host = endpoint['host']
        port = int(endpoint.get('port') or 443)
        server_name = endpoint.get('server_name') or host
        label = endpoint.get('name') or ('%s:%d' % (server_name, port) if server_name == host
                                         else '%s@%s:%d' % (server_name, host, port))
        result = _base('endpoint', label, host=host, port=port, server_name=server_name)
        try:
            chain = self._fetch(host, port, server_name, self.timeout, self.backend)
        except EndpointError as exc:
            result.update(reachable=False, status='unreachable', error=str(exc))
            return result
        result['reachable'] = True
        self._facts(result, chain, server_name)
        result['matches_name'] = name_covered(server_name, certificate_names(chain[0]), certificate_ips(chain[0]))
        result['status'] = status_of(result)
        return result

    def _inspect_endpoint_safely(self, endpoint):
        try:
            return self.inspect_endpoint(endpoint)
        except (ValueError, TypeError, UnicodeError, AutoTLSError) as exc:
            # A certificate cryptography cannot parse, a name idna refuses: data, not a crash.
            result = _base('endpoint', endpoint.get('name') or endpoint['host'], host=endpoint['host'],
                           port=endpoint.get('port'), server_name=endpoint.get('server_name') or endpoint['host'])
            result.update(reachable=None, status='invalid', error='%s: %s' % (type(exc).__name__, exc))
            return result

    def inspect_endpoints(self, endpoints):
        """All endpoints, ``concurrency`` at a time; results in the order given."""
        endpoints = list(endpoints)
        if not endpoints:
            return []
        workers = min(self.concurrency, len(endpoints))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix='cert_info') as pool:
            return list(pool.map(self._inspect_endpoint_safely, endpoints))

    def run(self, files=(), contents=(), endpoints=(), private_keys=()):
        files, private_keys = list(files or ()), list(private_keys or ())
        if len(private_keys) > len(files):
            raise ConfigurationError('private_keys has %d entries but files only %d: give at most one key per file, '
                                     'in the same order (an empty string for a file without one)'
                                     % (len(private_keys), len(files)))
        private_keys += [None] * (len(files) - len(private_keys))
        for index, endpoint in enumerate(endpoints or ()):
            check_range('endpoints[%d].port' % index, endpoint.get('port'), *PORT_RANGE)
        results = [self.inspect_file(path, key) for path, key in zip(files, private_keys)]
        results += [self.inspect_pem(pem, 'content', 'content[%d]' % index)
                    for index, pem in enumerate(contents or ())]
        results += self.inspect_endpoints(endpoints or ())
        return results


def key_matches_certificate(cert, key_path):
    """``(True, None)`` if the private key at ``key_path`` is the certificate's, else ``(False, why)``.

    The key's content never appears in the reason.
    """
    try:
        data = _read(key_path)
    except OSError as exc:
        return False, '%s: %s' % (key_path, exc.strerror or exc)
    try:
        key = load_private_key(data, what='private key %s' % key_path)
    except KeyMaterialError as exc:
        return False, str(exc)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    theirs = cert.public_key().public_bytes(serialization.Encoding.DER, spki)
    if ours != theirs:
        return False, ('the private key %s does not belong to the certificate (serial %x): they were written by '
                       'different runs; renew the certificate' % (key_path, cert.serial_number))
    return True, None


def summarize(results):
    """Counts per status (each result once, under its most urgent status) plus the total."""
    summary = dict.fromkeys(STATUSES, 0)
    for result in results:
        summary[result['status']] = summary.get(result['status'], 0) + 1
    summary['total'] = len(results)
    return summary
