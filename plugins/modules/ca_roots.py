#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: ca_roots
short_description: Bootstrap trust in a private CA (step-ca) from its root's SHA-256 fingerprint
version_added: 0.1.0
description:
  - Fetches the root certificate of a private CA such as Smallstep step-ca and accepts it only when its
    SHA-256 fingerprint (over the DER encoding) equals O(fingerprint), as C(step ca bootstrap --fingerprint) does.
  - The first request goes out without TLS verification, by design - the root being fetched is the trust anchor
    that is not there yet. The fingerprint check is what establishes trust; a root that does not match is refused
    with an error naming the expected and the actual fingerprints, and nothing is written.
  - Then checks that the CA's own HTTPS endpoint verifies against that root (hostname included) and reports the
    outcome in RV(endpoint_verified).
  - When the CA cannot be reached (no connection, no answer, server errors after retries) and O(dest) already holds
    the root with exactly this fingerprint (fetched and checked by an earlier run), that root is used as it is, with
    a warning and RV(ca_unreachable=true), so that a run can go on trusting the CA's certificates (and, with several issuers,
    order from the next one). Without such a file the module fails.
  - Optionally writes the root PEM to O(dest), atomically, with mode C(0644), only when its content differs.
    Install it into hosts' trust stores with the collection's C(ca_trust) role, and give it to ACME clients as
    their CA bundle.
  - Runs on the controller (or the AWX execution environment); use C(delegate_to=localhost) or a localhost play.
author:
  - autotls.acme maintainers (@autotls)
requirements:
  - requests
  - cryptography
attributes:
  check_mode:
    support: full
    description: Fetches and checks the root (read-only requests to the CA) and reports whether O(dest) would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the old and new content of O(dest).
  idempotent:
    support: full
    description: O(dest) is rewritten only when its content or mode differs.
options:
  url:
    description:
      - Base URL of the CA, for example C(https://ca.internal:9443).
      - A step-ca ACME directory URL (C(https://ca.internal:9443/acme/<provisioner>/directory)) is accepted too;
        its ACME path is dropped.
      - Must be C(https://).
    type: str
    required: true
  fingerprint:
    description:
      - SHA-256 fingerprint of the CA's root certificate, as printed by C(step certificate fingerprint root_ca.crt)
        or C(openssl x509 -noout -fingerprint -sha256).
      - 64 hex digits, upper or lower case, with or without colons.
      - Obtain it out of band (from the CA's operators or its start-up log), never from the CA over the network.
    type: str
    required: true
  dest:
    description:
      - File to write the root certificate (PEM) to. Its directory must exist.
      - When omitted, the root is only returned in RV(root_pem).
    type: path
  fetch:
    description:
      - How to get the root.
      - C(root) asks for exactly that root, C(GET /root/<fingerprint>), as C(step ca bootstrap) does.
      - C(roots) gets every root the CA serves (C(GET /roots.pem), or C(GET /roots) when that is missing) and picks
        the one with the fingerprint; the others are ignored and counted in RV(ignored_roots).
    type: str
    choices: [root, roots]
    default: root
  timeout:
    description:
      - Timeout in seconds of each HTTP request to the CA.
    type: int
    default: 30
notes:
  - The root certificate is public; returning it is safe.
  - If RV(endpoint_verified) is false the root still matched its fingerprint and was written; the CA's HTTPS
    certificate is not signed under it or does not name the host in O(url) (a reverse proxy with another
    certificate, for example). RV(endpoint_error) says why.
seealso:
  - name: step ca bootstrap
    description: The step CLI command this module follows.
    link: https://smallstep.com/docs/step-cli/reference/ca/bootstrap/
'''

EXAMPLES = r'''
- name: Trust the private CA's root, by its fingerprint
  autotls.acme.ca_roots:
    url: https://ca.internal:9443
    fingerprint: "{{ autotls_ca_root_fingerprint }}"
    dest: /srv/autotls/ca-root.pem
  delegate_to: localhost
  run_once: true
  register: ca_root

# DNS-01 through Route53 here; HTTP-01 needs its tokens on the hosts, which the
# collection's playbooks (renew.yml, onboard.yml) place.
- name: Use it as the CA bundle of the ACME client
  autotls.acme.certificate:
    acme_directory: https://ca.internal:9443/acme/acme/directory
    acme_ca_bundle: "{{ ca_root.dest }}"
    account_key_src: ~/.config/autotls/account.pem
    terms_agreed: true
    dest: /srv/autotls/certs
    certificates:
      - name: app1
        domains: [app1.internal.example.com]
        challenge: dns-01
  delegate_to: localhost
  run_once: true

- name: Pick the right root out of all roots the CA serves
  autotls.acme.ca_roots:
    url: https://ca.internal:9443/acme/acme/directory
    # 64 hex digits; the OpenSSL form 94:22:F3:55:... is accepted too
    fingerprint: "{{ autotls_ca_root_fingerprint }}"
    fetch: roots
  delegate_to: localhost
  check_mode: true
  register: all_roots
'''

RETURN = r'''
root_pem:
  description: The root certificate that matched, in PEM.
  returned: success
  type: str
  sample: "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
fingerprint:
  description: SHA-256 fingerprint of the root (lowercase hex, no colons); equals the requested one.
  returned: success
  type: str
  sample: 9422f355c0f0b5a3e6f04f8d4d2c6e7b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d
subject:
  description: Subject of the root (RFC 4514).
  returned: success
  type: str
  sample: CN=Example Root CA,O=Example
not_after:
  description: Expiry of the root (UTC, ISO 8601).
  returned: success
  type: str
  sample: "2036-05-01T10:00:00Z"
dest:
  description: The file written (or that would be written in check mode); null without O(dest).
  returned: always
  type: str
  sample: /srv/autotls/ca-root.pem
url:
  description: The CA base URL used.
  returned: success
  type: str
  sample: https://ca.internal:9443
source_url:
  description: The URL the root was fetched from (O(dest) when RV(ca_unreachable) is true).
  returned: success
  type: str
  sample: https://ca.internal:9443/root/9422f355...
endpoint_verified:
  description: Whether the CA's HTTPS endpoint verified against the root (chain and hostname).
  returned: success
  type: bool
  sample: true
endpoint_error:
  description: Why the endpoint did not verify.
  returned: when RV(endpoint_verified) is false
  type: str
ca_unreachable:
  description:
    - Whether the CA could not be reached and the root kept in O(dest) (same fingerprint) was returned instead.
    - RV(endpoint_error) then says what failed, and RV(source_url) is O(dest).
  returned: success
  type: bool
  sample: false
ignored_roots:
  description: How many other roots the CA served that were not returned (with O(fetch=roots)).
  returned: success
  type: int
  sample: 0
expected_fingerprint:
  description: The requested fingerprint, normalized.
  returned: when no root matched
  type: str
actual_fingerprints:
  description: Fingerprints of the roots the CA served instead.
  returned: when no root matched
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import POSITIVE, check_range
from ansible_collections.autotls.acme.plugins.module_utils._x509.ca_roots import (
    FETCH_MODES,
    HAS_REQUESTS,
    bootstrap,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import HAS_CRYPTOGRAPHY


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', required=True),
            fingerprint=dict(type='str', required=True),
            dest=dict(type='path'),
            fetch=dict(type='str', default='root', choices=list(FETCH_MODES)),
            timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    for has, lib in ((HAS_REQUESTS, 'requests'), (HAS_CRYPTOGRAPHY, 'cryptography')):
        if not has:
            module.fail_json(msg=missing_required_lib(lib))
    params = module.params
    try:
        check_range('timeout', params['timeout'], *POSITIVE, unit='seconds')
        result = bootstrap(params['url'], params['fingerprint'], fetch=params['fetch'], dest=params['dest'],
                           timeout=params['timeout'], check_mode=module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=str(exc), dest=params['dest'], **exc.details)
    if result.get('ca_unreachable'):
        module.warn('The CA at %s could not be reached (%s); the root kept in %s, which has the fingerprint %s, '
                    'was used' % (result['url'], result['endpoint_error'], params['dest'], result['fingerprint']))
    diff = result.pop('diff', None)
    if module._diff and diff and result['changed']:
        result['diff'] = diff
    module.exit_json(**result)


if __name__ == '__main__':
    main()
