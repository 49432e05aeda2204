#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cert_info
short_description: Expiry, issuer, names and chain of certificate files, PEM content and live TLS endpoints
version_added: 0.1.0
description:
  - Reports on certificates from three kinds of sources in one task - files, PEM content, and live TLS
    endpoints (host, port and SNI name), many endpoints at once, concurrently, each within its own timeout.
  - For each certificate - expiry, days left, fraction of the lifetime left, issuer, names, serial, key type,
    whether the renewal policy O(renew_before) says it is due, and whether its chain verifies against the
    roots given in O(ca_bundle), O(root_pem) or O(system_roots) - the system's CA bundle when no other root is
    given. A chain that cannot be verified at all is reported as C(unverified), never as C(ok).
  - For files, optionally whether the private key file next to it (O(private_keys)) belongs to the certificate.
  - For endpoints also whether the SNI name is covered by the certificate's names (wildcard-aware).
    Comparing an endpoint with the stored file tells a certificate that must be redeployed from one that
    must be reissued.
  - Endpoints are fetched without verification, on purpose - an expired or wrongly issued certificate is what
    this module is for. The presented chain is then verified separately.
  - An endpoint that does not answer, and a file that is missing or unreadable, is reported in its result
    (RV(results[].status)), never as a task failure. The task fails only on wrong options.
  - 'Runs on the controller (or the AWX execution environment): use C(delegate_to: localhost) or a localhost play.'
author:
  - autotls.acme maintainers (@autotls)
requirements:
  - cryptography (42 or later to verify chains)
  - pyOpenSSL, to see the whole chain an endpoint presents; without it, and before Python 3.13, only the leaf is seen
attributes:
  check_mode:
    support: full
    description: The module only reads; it does the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
  idempotent:
    support: full
    description: Never changes anything.
options:
  files:
    description:
      - Paths of PEM files. The first certificate in a file is the one reported; the ones after it
        (as in a C(fullchain.pem)) are its chain.
    type: list
    elements: path
    default: []
  private_keys:
    description:
      - Private key files, one per entry of O(files) at the same position (an empty string for a file without
        one). A key that does not belong to its certificate (or cannot be read) gives the status C(key_mismatch).
      - The key's content is never returned or logged.
    type: list
    elements: path
    default: []
  contents:
    description:
      - PEM certificates (a leaf, optionally followed by its chain), as text.
    type: list
    elements: str
    default: []
  endpoints:
    description:
      - Live TLS endpoints to connect to.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description:
          - Name or address to connect to.
        type: str
        required: true
      port:
        description:
          - TCP port, 1 to 65535.
        type: int
        default: 443
      server_name:
        description:
          - Name sent as SNI, checked against the certificate's names, and verified the chain for.
          - Defaults to O(endpoints[].host). No SNI is sent for an IP address.
        type: str
      name:
        description:
          - Label for this endpoint in the results. Defaults to C(server_name:port), or C(server_name@host:port)
            when they differ.
        type: str
  ca_bundle:
    description:
      - PEM file with the root(s) to verify chains against.
    type: path
  root_pem:
    description:
      - PEM text of the root(s) to verify chains against. Added to O(ca_bundle) when both are given.
    type: str
  system_roots:
    description:
      - V(true) also trusts the system's CA bundle (for certificates from public CAs), V(false) never does.
      - Left out, the system's CA bundle is used when neither O(ca_bundle) nor O(root_pem) is given, so a chain is
        always checked against something.
    type: bool
  renew_before:
    description:
      - When a certificate is due, as in M(autotls.acme.certificate). Whichever rule says sooner wins.
    type: dict
    default: {}
    suboptions:
      days:
        description:
          - Due when fewer days than this are left. Ignored for certificates whose whole lifetime is shorter
            than twice this; the fraction rule decides for those.
        type: int
        default: 30
      fraction:
        description:
          - Due when less than this fraction of the lifetime is left.
        type: float
        default: 0.33
      ari:
        description:
          - Accepted so that the same C(autotls_renew_before) value serves every module. This module does not
            contact the CA, so the CA's ARI window is not consulted here.
        type: bool
        default: true
  run_interval:
    description:
      - Hours between the scheduled runs that renew the certificates, above 0. A certificate whose renewal point
        comes less than this before its expiry is given RV(results[].schedule), with what to change.
      - Left out, nothing is said about the schedule.
    type: float
  acme_directory:
    description:
      - The ACME directory that issues the certificates, so that the advice of RV(results[].schedule) names the
        setting to change (for step-ca, its ACME provisioner's C(defaultTLSCertDuration)). Not contacted.
    type: str
  concurrency:
    description:
      - How many endpoints are checked at the same time, 1 to 1000.
    type: int
    default: 50
  timeout:
    description:
      - Seconds allowed for each endpoint, TCP connection and TLS handshake together. Name resolution is not included.
      - More than 0, at most 600.
    type: float
    default: 5
notes:
  - Results come in the order files, contents, endpoints, each in the order given.
  - The chain of a file or of PEM content is verified for the certificate's own first name (for a wildcard-only
    certificate, a name the wildcard covers), so that check is about trust and validity, not about where it is served.
seealso:
  - module: autotls.acme.certificate
'''

EXAMPLES = r'''
- name: What the store holds and what the web servers really serve
  autotls.acme.cert_info:
    files:
      - ~/.local/share/autotls/certs/app1/fullchain.pem
    private_keys:
      - ~/.local/share/autotls/certs/app1/privkey.pem
    endpoints:
      - host: 10.0.0.11
        server_name: app1.internal.example.com
      - host: 10.0.0.12
        port: 8443
        server_name: shop.qa1.example.com
        name: shop on web2
    root_pem: "{{ autotls_ca_root_pem }}"
    renew_before: {days: 30, fraction: 0.33}
  register: expiry
  delegate_to: localhost
  run_once: true

- name: Fail when anything is expired, unreachable, mismatched or not verified
  ansible.builtin.assert:
    that:
      - expiry.summary.expired == 0
      - expiry.summary.unreachable == 0
      - expiry.summary.key_mismatch == 0
      - expiry.summary.unverified == 0
  run_once: true

- name: A public site, checked against the system's roots (no other root given), with a short timeout
  autotls.acme.cert_info:
    endpoints:
      - host: www.example.com
      - host: shop.example.com
    timeout: 2
    concurrency: 100
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
results:
  description: One entry per file, content and endpoint, in that order. Every key is present; those that do not apply are null.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: C(file), C(content) or C(endpoint).
      type: str
      sample: endpoint
    name:
      description: The path, C(content[N]), or the endpoint's label.
      type: str
      sample: app1.internal.example.com@10.0.0.11:443
    path:
      description: The file's path.
      type: str
    host:
      description: The endpoint's host.
      type: str
    port:
      description: The endpoint's port.
      type: int
    server_name:
      description: The SNI name used for the endpoint.
      type: str
    reachable:
      description: For endpoints, whether a TLS handshake completed.
      type: bool
    status:
      description:
        - The most urgent of C(missing) (file not readable), C(invalid) (no parsable certificate), C(unreachable),
          C(expired), C(key_mismatch) (the file's private key in O(private_keys) is not the certificate's, or cannot
          be read), C(name_mismatch) (endpoint certificate does not cover the SNI name), C(chain_invalid),
          C(unverified) (the chain could not be checked - no roots, no name, cryptography before 42, or only the
          leaf was seen), C(due), C(ok).
      type: str
      sample: due
    error:
      description: Why a file or endpoint could not be checked.
      type: str
      sample: "10.0.0.12:8443: no TLS handshake within 5 s"
    serial:
      description: Serial number, hex.
      type: str
    domains:
      description: DNS names of the certificate (subject alternative names).
      type: list
      elements: str
    not_before:
      description: Start of validity, UTC, ISO 8601.
      type: str
      sample: "2026-11-20T10:00:00Z"
    not_after:
      description: End of validity, UTC, ISO 8601.
      type: str
      sample: "2027-02-18T10:00:00Z"
    days_left:
      description: Days until expiry (negative once expired).
      type: float
      sample: 41.5
    lifetime_fraction_left:
      description: Fraction of the lifetime left (1.0 just issued, 0.0 expired).
      type: float
      sample: 0.46
    expired:
      description: Whether the certificate has expired.
      type: bool
    issuer:
      description: Common name of the issuer.
      type: str
      sample: Smallstep Intermediate CA
    key_type:
      description: Key type (ec256, ec384, rsa2048, ...), null for others.
      type: str
    chain_length:
      description: How many certificates the file, content or endpoint presented, leaf included.
      type: int
    chain_verified:
      description: Whether the leaf and the presented intermediates verify up to a given root for the name;
        null when it could not be checked (the status is then C(unverified)).
      type: bool
    chain_error:
      description: Why the chain did not verify or was not checked.
      type: str
    due:
      description: Whether O(renew_before) says the certificate is due.
      type: bool
    due_reason:
      description: A sentence saying why (not) due.
      type: str
      sample: due since 2027-01-19 10:00 UTC (expires 2027-02-18 10:00 UTC)
    renew_at:
      description:
        - When O(renew_before)'s days and fraction rules make the certificate due (the start of its renewal window),
          UTC. The CA's ARI window may start earlier.
      type: str
      sample: "2027-01-19T10:00:00Z"
    matches_name:
      description: For endpoints, whether the SNI name is covered by the certificate's names.
      type: bool
    key_path:
      description: For files given a private key, the key's path.
      type: str
    key_matches:
      description: For files given a private key, whether it belongs to the certificate; null when not checked.
      type: bool
    key_error:
      description: Why the key does not match or could not be read.
      type: str
    schedule:
      description:
        - With O(run_interval), when the certificate's lifetime does not fit it - C(interval_hours),
          C(lifetime_hours), C(renew_after_hours), C(window_hours) (from the renewal point to expiry), C(advice)
          and C(changes) (what to change). Null when it fits.
      type: dict
summary:
  description: How many results have each status (each counted once, under its most urgent status), and C(total).
  returned: always
  type: dict
  sample: {ok: 480, due: 12, expired: 1, unreachable: 7, missing: 0, invalid: 0, key_mismatch: 0, name_mismatch: 0,
           chain_invalid: 0, unverified: 0, total: 500}
endpoint_backend:
  description:
    - How endpoint chains were fetched. C(pyopenssl) and C(ssl) see the whole chain; C(ssl-leaf) only the leaf
      (no pyOpenSSL, Python before 3.13), so a chain that needs the presented intermediates is reported as not checked.
  returned: always
  type: str
  sample: pyopenssl
roots:
  description: Where the roots used for chain verification came from.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.autotls.acme.plugins.module_utils._tls.cert_info import (
    HAS_CRYPTOGRAPHY,
    Inspector,
    load_roots,
    summarize,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy


def argument_spec():
    return dict(
        files=dict(type='list', elements='path', default=[]),
        private_keys=dict(type='list', elements='path', default=[], no_log=False),
        contents=dict(type='list', elements='str', default=[]),
        endpoints=dict(type='list', elements='dict', default=[], options=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=443),
            server_name=dict(type='str'),
            name=dict(type='str'),
        )),
        ca_bundle=dict(type='path'),
        root_pem=dict(type='str'),
        system_roots=dict(type='bool'),
        renew_before=dict(type='dict', default={}, options=dict(
            days=dict(type='int', default=30),
            fraction=dict(type='float', default=0.33),
            ari=dict(type='bool', default=True),
        )),
        run_interval=dict(type='float'),
        acme_directory=dict(type='str'),
        concurrency=dict(type='int', default=50),
        timeout=dict(type='float', default=5),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'))
    params = module.params
    try:
        roots, sources = load_roots(params['ca_bundle'], params['root_pem'], params['system_roots'])
        inspector = Inspector(RenewalPolicy.from_option(params['renew_before']), roots,
                              timeout=params['timeout'], concurrency=params['concurrency'],
                              run_interval=params['run_interval'], directory_url=params['acme_directory'])
        results = inspector.run(params['files'], params['contents'], params['endpoints'],
                                [p or None for p in params['private_keys']])
    except AutoTLSError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    module.exit_json(changed=False, results=results, summary=summarize(results),
                     endpoint_backend=inspector.backend, roots=sources)


if __name__ == '__main__':
    main()
