#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: certificate
short_description: Issue or renew many ACME certificates in one task, DNS-01 through Route53 included
version_added: 0.1.0
description:
  - Issues and renews certificates from any RFC 8555 CA (Let's Encrypt, ZeroSSL, Smallstep step-ca, ...)
    for one or many certificates in one task, concurrently.
  - DNS-01 challenges are solved through AWS Route53 in the same task - the TXT records are
    written in the right hosted zone, checked on the zone's authoritative name servers,
    and removed again afterwards, always, leaving values that are not ours untouched.
  - A certificate whose files exist for the same names and key type and that is not due
    for renewal is left alone without contacting the CA.
  - Writes C(cert.pem), C(chain.pem), C(fullchain.pem) and C(privkey.pem) into O(dest)/<name>/, atomically.
  - 'Runs on the controller (or the AWX execution environment): use C(delegate_to: localhost) or a localhost play.'
author:
  - autotls.acme maintainers (@autotls)
requirements:
  - acme >= 2.0 (certbot's ACME library)
  - cryptography
  - boto3 (for DNS-01 through Route53)
  - dnspython (for the propagation check)
extends_documentation_fragment:
  - autotls.acme.acme
  - autotls.acme.issuers
  - autotls.acme.aws
attributes:
  action_group:
    description:
      - Use C(group/autotls.acme.acme) or C(group/autotls.acme.aws) in C(module_defaults) to set the
        ACME account and CA options, or the AWS access options, once for every module of the group.
    support: full
    membership:
      - autotls.acme.acme
      - autotls.acme.aws
  check_mode:
    support: full
    description: Reports which certificates would be issued or renewed; contacts neither the CA nor AWS.
  diff_mode:
    support: none
    description: Certificates and keys are not shown as diffs.
  idempotent:
    support: full
    description: A certificate that is present and not due is not renewed.
options:
  acme_directory:
    description:
      - URL of the CA's ACME directory, for example C(https://ca.internal:9443/acme/acme/directory).
      - Or one of the aliases C(letsencrypt), C(letsencrypt_staging), C(zerossl).
      - The one-issuer form, with the other ACME options; O(issuers) gives several CAs in order instead.
        One of the two is required.
    type: str
    required: false
  issuers:
    description:
      - The CAs to order from, in order, instead of O(acme_directory) and its options (which mean a list of one).
      - A certificate is ordered from the first issuer. When its order fails on the CA's side - the CA cannot be
        reached or answers 5xx after retries, answers C(rateLimited), or refuses the order or its finalization
        (not a challenge answer of ours it could not validate) - it is ordered from the next issuer in the same run.
        With O(phase=finish), a certificate whose finalization failed is returned in RV(retry) for another round.
      - C(rateLimited) is never retried, and no new order goes to that CA for the rest of the run (or until its
        Retry-After; carried between steps in O(issuer_state)). A certificate no issuer would take because of rate
        limits is deferred (RV(certificates[].deferred)), not failed, unless the certificate in place expires
        within O(run_interval) hours.
      - O(account_email) and O(terms_agreed) apply to every issuer that does not set its own.
    type: list
    elements: dict
  issuer_state:
    description:
      - What an earlier step of the same run learnt about the CAs (rate-limited until when, unreachable), as
        returned in RV(issuer_state); pass it on unchanged.
    type: dict
  retry:
    description:
      - With O(phase=order), the RV(retry) list of the O(phase=finish) task before it, unchanged. Those
        certificates are ordered from the next issuers they have not tried, as decided then (nothing is planned).
    type: list
    elements: dict
  certificates:
    description:
      - The certificates to issue or renew.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the certificate; its files go to O(dest)/<name>/.
          - Letters, digits, C(.), C(_) and C(-), starting with a letter or a digit, at most 64 characters.
        type: str
        required: true
      domains:
        description:
          - DNS names of the certificate. The first is also the subject's common name when short enough.
          - Each is letters, digits and hyphens in labels of 1 to 63 characters, at most 253 in all; names are
            lower-cased, a trailing dot is dropped, internationalised names are converted to their C(xn--) form.
          - Wildcards at any level (C(*.qa1.example.com)) need C(dns-01); C(*) is only ever the whole leftmost label.
            List the apex as well to cover it.
        type: list
        elements: str
        required: true
      challenge:
        description:
          - How the CA checks control of the names. C(dns-01) writes TXT records through Route53.
          - C(http-01) is solved by the collection's playbooks, which place tokens in the hosts' webroots.
        type: str
        choices: [dns-01, http-01]
        default: dns-01
      key_type:
        description:
          - Type of the certificate's private key.
        type: str
        choices: [ec256, ec384, rsa2048, rsa3072, rsa4096]
        default: ec256
      reuse_key:
        description:
          - Keep the existing private key on renewal (when it has the requested type). By default every renewal makes a new key.
        type: bool
        default: false
      zone_id:
        description:
          - Route53 hosted zone id for all the names of this certificate, instead of finding the zone by longest suffix.
        type: str
      profile:
        description:
          - ACME profile to request (for CAs that offer profiles). Overrides O(issuers[].profile) and O(profile).
        type: str
      preferred_chain:
        description:
          - Common name of the root (or top issuer) of the chain to prefer among those the CA offers. Overrides O(preferred_chain).
        type: str
      force:
        description:
          - Renew now, whether due or not.
        type: bool
        default: false
      hosts:
        description:
          - Inventory hosts that serve this certificate, as gathered by the collection's playbooks.
          - Informational for C(dns-01); returned unchanged.
        type: list
        elements: str
  phase:
    description:
      - C(all) does everything in this task; it solves C(dns-01) challenges itself.
      - C(order) decides which certificates are due (the CA's renewal window included) and creates their
        orders; it returns what it decided per certificate in RV(orders), with the C(http-01) tokens to
        place on the hosts in RV(http01_tokens).
      - C(finish) finishes exactly the orders given in O(orders). It reads each order and its authorizations
        back from the CA by URL, answers the challenges (writing and removing the C(dns-01) records itself),
        waits for validation, finalizes and writes the files. It does not decide again what is due;
        O(certificates) only supplies how each certificate is made (key type, chain, zone).
      - The new private key is made by C(finish), just before the CSR is sent; no key is ever returned.
    type: str
    choices: [all, order, finish]
    default: all
  orders:
    description:
      - With O(phase=finish), the RV(orders) returned by the O(phase=order) task, unchanged.
    type: list
    elements: dict
  dest:
    description:
      - Directory where each certificate gets a subdirectory named after it.
    type: path
    required: true
  renew_before:
    description:
      - When a certificate is due. Whichever rule says sooner wins.
    type: dict
    default: {}
    suboptions:
      days:
        description:
          - Renew when fewer days than this are left. Ignored for certificates whose whole lifetime is
            shorter than twice this (a 24-hour certificate would otherwise renew at once); the fraction rule decides for those.
        type: int
        default: 30
      fraction:
        description:
          - Renew when less than this fraction of the lifetime is left, from C(0) to C(1)
            (0.33 renews a 24-hour certificate after 16 hours; C(1) renews on every run).
        type: float
        default: 0.33
      ari:
        description:
          - Follow the CA's ACME Renewal Information (ARI) window when the CA offers it.
        type: bool
        default: true
  force:
    description:
      - Renew now, whether due or not. C(true) renews every listed certificate; a list of certificate
        names (or a comma-separated string of them, as C(-e autotls_force=a,b) gives) renews those.
      - A name that is not among O(certificates) is refused.
      - Used by O(phase=all) and O(phase=order); O(phase=finish) finishes what the order step decided.
    type: raw
    default: false
  run_interval:
    description:
      - Hours between the scheduled runs that renew these certificates (24 for a nightly job), above 0.
      - A certificate deferred by rate limits (see O(issuers)) fails instead when the certificate in place expires
        within this many hours.
      - A certificate whose renewal point comes less than this before its expiry can be missed by every run
        (a 24-hour certificate renewed with a third of its lifetime left, run nightly). It is reported in
        RV(certificates[].schedule) and as a warning, with what to change (run more often, a longer lifetime
        from the CA - for step-ca its ACME provisioner's C(defaultTLSCertDuration) - or renewing earlier).
    type: float
    default: 24
  ari_timeout:
    description:
      - Overall seconds for asking the CA's renewal information (ARI) about every certificate of the run (at least 1);
        the lookups run concurrently, at most two tries each. When the CA's ARI endpoint fails or the
        time runs out, it is asked no more this run and the O(renew_before) days and fraction decide.
    type: int
    default: 30
  profile:
    description:
      - ACME profile to request for every certificate that does not set its own.
    type: str
  preferred_chain:
    description:
      - Common name of the root (or top issuer) of the preferred chain, for every certificate that does not set its own.
    type: str
  concurrency:
    description:
      - How many certificates are ordered and validated at the same time; at least 1.
    type: int
    default: 10
  timeout:
    description:
      - Deadline in seconds for each certificate's own work, counted from when a worker takes it up (at least 1),
        once for creating (or, with O(phase=finish), reading back) its order, and once for answering
        its challenges, validation, finalization and download.
      - Time queued behind other certificates and the shared DNS wait (bounded by
        O(dns_propagation_timeout)) do not count against it.
    type: int
    default: 300
  dns_ttl:
    description:
      - TTL of the challenge TXT records, in seconds, from 1 to 2147483647.
    type: int
    default: 60
  dns_propagation_timeout:
    description:
      - Seconds to wait for Route53 to report the changes C(INSYNC) and for the zones' authoritative name servers to answer the values; at least 1.
      - All hosted zones are waited for together, under this one deadline.
    type: int
    default: 300
  dns_servers:
    description:
      - Name servers to ask for the challenge values before the CA is asked to validate, as C(host) or C(host:port).
      - By default the hosted zone's own authoritative name servers are asked.
      - A port must be between 1 and 65535.
    type: list
    elements: str
  store_owner:
    description:
      - Who owns the certificates this run writes to the store, recorded with each (C(owner) in C(issuer.json) beside
        its files) - the inventory's C(autotls_store_owner). Retirement (C(playbooks/retire.yml)) sets aside and
        revokes only the certificates whose recorded owner is its inventory's, so inventories that share a store
        keep each other's.
    type: str
  file_mode:
    description:
      - Mode of the certificate files, a quoted octal string of at most C('0777') such as C('0644').
      - A number is refused (YAML reads an unquoted C(660) as the decimal 660); quote it.
    type: raw
    default: '0644'
  key_mode:
    description:
      - Mode of the private key file, a quoted octal string such as C('0600') or C('0640').
      - A mode that gives other users any access (C('0644')) is refused, as is a number; quote it.
    type: raw
    default: '0600'
notes:
  - The private key is never returned, logged or shown in a diff.
  - Stopped by SIGTERM (an AWX job timeout, a container stop) or Ctrl-C, the module removes the
    C(dns-01) TXT values it wrote before it ends, and fails.
  - One certificate failing does not stop the others; the task fails at the end and names each failure.
  - A rate limit (C(rateLimited), HTTP 429) is never retried; other transient answers (5xx, C(badNonce),
    connection errors) are, a bounded number of times.
seealso:
  - module: autotls.acme.route53_txt
'''

EXAMPLES = r'''
- name: Wildcard plus apex for each QA environment, from Let's Encrypt through Route53
  autotls.acme.certificate:
    acme_directory: letsencrypt
    account_key_content: "{{ vault_acme_account_key }}"
    account_email: ops@example.com
    terms_agreed: true
    dest: /srv/autotls/certs
    certificates:
      - name: qa1
        domains: ["*.qa1.example.com", qa1.example.com]
      - name: qa2
        domains: ["*.qa2.example.com", qa2.example.com]
        key_type: rsa2048
  delegate_to: localhost
  run_once: true

- name: A CA that requires External Account Binding, with an assumed AWS role
  autotls.acme.certificate:
    acme_directory: zerossl
    account_key_src: ~/.config/autotls/account.pem
    eab_kid: "{{ zerossl_eab_kid }}"
    eab_hmac_key: "{{ zerossl_eab_hmac_key }}"
    terms_agreed: true
    aws_assume_role_arn: arn:aws:iam::123456789012:role/acme-dns
    dest: /srv/autotls/certs
    renew_before: {days: 30, fraction: 0.33}
    certificates:
      - name: shop
        domains: [shop.example.com, api.shop.example.org]

- name: Let's Encrypt first, ZeroSSL when Let's Encrypt is down or rate-limits
  autotls.acme.certificate:
    issuers:
      - name: letsencrypt
        directory: letsencrypt
        account_key_content: "{{ vault_le_account_key }}"
      - name: zerossl
        directory: zerossl
        account_key_content: "{{ vault_zerossl_account_key }}"
        eab_kid: "{{ zerossl_eab_kid }}"
        eab_hmac_key: "{{ zerossl_eab_hmac_key }}"
    terms_agreed: true
    dest: /srv/autotls/certs
    certificates:
      - name: shop
        domains: [shop.example.com]
  delegate_to: localhost
'''

RETURN = r'''
certificates:
  description: One entry per requested certificate, in request order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The certificate's name.
      type: str
      sample: qa1
    domains:
      description: Names requested.
      type: list
      elements: str
      sample: ["*.qa1.example.com", "qa1.example.com"]
    changed:
      description: Whether it was (or, in check mode, would be) issued or renewed.
      type: bool
    action:
      description: C(issue), C(renew) or C(none).
      type: str
      sample: renew
    reason:
      description: Why it was or was not due.
      type: str
      sample: due since 2026-11-20 10:00 UTC (expires 2026-12-20 10:00 UTC)
    serial:
      description: Serial number (hex) of the certificate now in place.
      type: str
      sample: 3a9f1c...
    not_after:
      description: Expiry (UTC, ISO 8601) of the certificate now in place.
      type: str
      sample: "2027-02-20T10:00:00Z"
    days_left:
      description: Days until expiry.
      type: float
      sample: 89.99
    lifetime_fraction_left:
      description: Fraction of the lifetime left (1.0 = just issued).
      type: float
    issuer:
      description: Common name of the issuer.
      type: str
    key_type:
      description: Key type of the certificate now in place.
      type: str
    files:
      description: Paths of cert, chain, fullchain and privkey.
      type: dict
    hosts:
      description: The hosts given in the request, unchanged.
      type: list
      elements: str
      returned: when given
    failed:
      description: Present and true when this certificate failed.
      type: bool
      returned: on failure
    msg:
      description: What went wrong for this certificate.
      type: str
      returned: on failure
    problem:
      description: The CA's problem document (RFC 8555 section 6.7), when it sent one.
      type: dict
      returned: on CA errors
    replaces:
      description: ARI identifier of the certificate the renewal replaced.
      type: str
      returned: when the renewal order named it
    order_url:
      description: URL of this run's order at the CA.
      type: str
      returned: when an order was made
    ari_renewal_time:
      description: The moment (UTC) within the CA's suggested renewal window chosen for this certificate.
      type: str
      returned: when the CA's renewal information was read
    schedule:
      description:
        - Present when the certificate's lifetime does not fit O(run_interval) - C(interval_hours),
          C(lifetime_hours), C(renew_after_hours) (from issuance to the renewal point), C(window_hours) (from the
          renewal point to expiry), C(advice) (what to change, one sentence) and C(changes) (the same, as a list).
      type: dict
      returned: when the lifetime does not fit the schedule
    acme_issuer:
      description: Name of the issuer (of O(issuers)) the certificate was ordered from in this run.
      type: str
      returned: when an order was made
      sample: letsencrypt
    moved:
      description: True when the certificate was ordered from another issuer than the first, because a CA failed on its side.
      type: bool
      returned: when an issuer was left behind
    issuers_tried:
      description: Each issuer the certificate left behind in this run, with why.
      type: list
      elements: str
      returned: when an issuer was left behind
      sample: ["letsencrypt: rate limited (The ACME server refused the request ...: rateLimited: ...)"]
    deferred:
      description:
        - True when every issuer left rate-limited and the certificate in place lives past the next run
          (O(run_interval)); it is not failed, and a later run renews it. RV(certificates[].reason) says why.
      type: bool
      returned: when deferred
    retry:
      description: True when the certificate is to be ordered from the next issuer in another round (listed in RV(retry)).
      type: bool
      returned: with O(phase=finish), when its CA failed on its side
account_uri:
  description: URL of the ACME account used (at the first issuer that was contacted); absent when no CA was contacted.
  returned: when the CA was contacted
  type: str
accounts:
  description: The account URL at each issuer contacted, by issuer name.
  returned: when a CA was contacted
  type: dict
  sample: {letsencrypt: "https://acme-v02.api.letsencrypt.org/acme/acct/123"}
issuer_state:
  description:
    - What this run learnt about its CAs, by issuer name (C(kind), C(reason), C(until)); pass it to the next step of
      the run in O(issuer_state).
  returned: when the certificates were processed
  type: dict
  sample: {letsencrypt: {kind: rate_limited, reason: rate limited, until: 1796212800.0}}
retry:
  description:
    - With O(phase=finish), the certificates whose CA failed on its side while finishing and that another issuer
      may take; pass them in O(retry) to a new O(phase=order) task (the playbooks do, in another round).
  returned: always
  type: list
  elements: dict
orders:
  description:
    - With O(phase=order), what was decided and ordered per certificate, to pass to O(phase=finish) unchanged.
    - Holds no key; the key authorizations of C(http-01) tokens are public by design.
  returned: when phase is order
  type: list
  elements: dict
  contains:
    name:
      description: The certificate's name.
      type: str
    action:
      description: C(issue) or C(renew).
      type: str
    reason:
      description: Why it is due.
      type: str
    replaces:
      description: ARI identifier of the certificate this order replaces, when the CA took it.
      type: str
      returned: when the CA offers ARI and it is a renewal
    challenge_type:
      description: C(dns-01) or C(http-01).
      type: str
    url:
      description: URL of the order at the CA; the finishing step reads it back from there.
      type: str
    domains:
      description: Names ordered.
      type: list
      elements: str
    challenges:
      description: The challenges still to satisfy (C(http-01) tokens, C(dns-01) record names and values).
      type: list
      elements: dict
    account:
      description: URL of the ACME account that made the order.
      type: str
http01_tokens:
  description:
    - With O(phase=order), one entry per HTTP-01 token and host that serves the name
      (C(host), C(certificate), C(domain), C(token), C(path), C(key_authorization)).
    - Write C(key_authorization) to C(<webroot>/<path>) on C(host) before O(phase=finish), and remove it afterwards.
  returned: when phase is order
  type: list
  elements: dict
cleanup_errors:
  description:
    - Challenge TXT values that could not be removed from Route53, each naming its record.
      Not empty means the task failed; remove those values by hand (M(autotls.acme.route53_txt) with C(state=absent)).
  returned: always
  type: list
  elements: str
  sample: ["Failed to remove TXT values _acme-challenge.qa1.example.com in zone example.com (Z1, public): AccessDenied: ..."]
account_created:
  description: Whether the account was created by this run.
  returned: when the CA was contacted
  type: bool
timings:
  description:
    - Seconds of wall-clock time per phase of this run, to see where the time goes. A phase that
      ran for many certificates at once counts the time during which at least one was in it, so
      phases overlap and need not add up to C(total).
    - Phases, each present only when it ran - C(imports) (loading the libraries), C(plan), C(ari),
      C(account), C(orders), C(dns_zones_early) (finding hosted zones while the orders are created),
      C(dns_zones) (the hosted zones not found by then, and name servers), C(dns_write),
      C(dns_insync), C(dns_authoritative), C(validation), C(finalize) (key, CSR, issuance, download),
      C(write) (files), C(cleanup) (removing challenge records), C(total).
  returned: when the certificates were processed, also when some failed
  type: dict
  sample: {imports: 0.62, account: 0.05, orders: 0.4, dns_write: 0.2, dns_insync: 0.01, total: 3.1}
'''

from ansible.module_utils.basic import missing_required_lib

# First of the collection's imports: it marks the time before acme, boto3 and cryptography load.
from ansible_collections.autotls.acme.plugins.module_utils._common import timings as _timings
from ansible_collections.autotls.acme.plugins.module_utils._acme.session import (
    account_options_from_issuer,
    acme_argument_spec,
    acme_module,
    issuers_from_params,
    session_from_issuer,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.account import unfinished_rollovers
from ansible_collections.autotls.acme.plugins.module_utils._acme.fallback import IssuerChain, IssuerState
from ansible_collections.autotls.acme.plugins.module_utils._common.aws import BOTO3_IMPORT_ERROR, HAS_BOTO3, aws_argument_spec
from ansible_collections.autotls.acme.plugins.module_utils._dns.dns01 import Route53Dns01Solver
from ansible_collections.autotls.acme.plugins.module_utils._dns.propagation import (
    DNSPYTHON_IMPORT_ERROR,
    HAS_DNSPYTHON,
    check_nameserver_entries,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import POSITIVE, TTL_RANGE, check_ranges
from ansible_collections.autotls.acme.plugins.module_utils._common.signals import Terminated, terminate_as_interrupt
from ansible_collections.autotls.acme.plugins.module_utils._acme.issuer import (
    CertificateSpec,
    Issuer,
    PlacedTokens,
    http01_tokens,
)
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import KEY_TYPES
from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy, forced_names
from ansible_collections.autotls.acme.plugins.module_utils._acme.schedule import check_run_interval, schedule_of_facts
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import parse_mode


def argument_spec():
    # O(acme_directory) is not required: O(issuers) gives the CAs instead.
    spec = acme_argument_spec(issuers=True)
    spec.update(aws_argument_spec())
    spec.update(
        issuer_state=dict(type='dict'),
        retry=dict(type='list', elements='dict'),
        certificates=dict(type='list', elements='dict', required=True, options=dict(
            name=dict(type='str', required=True),
            domains=dict(type='list', elements='str', required=True),
            challenge=dict(type='str', default='dns-01', choices=['dns-01', 'http-01']),
            key_type=dict(type='str', default='ec256', choices=list(KEY_TYPES)),
            reuse_key=dict(type='bool', default=False),
            zone_id=dict(type='str'),
            profile=dict(type='str'),
            preferred_chain=dict(type='str'),
            force=dict(type='bool', default=False),
            hosts=dict(type='list', elements='str'),
        )),
        phase=dict(type='str', default='all', choices=['all', 'order', 'finish']),
        orders=dict(type='list', elements='dict'),
        dest=dict(type='path', required=True),
        renew_before=dict(type='dict', default={}, options=dict(
            days=dict(type='int', default=30),
            fraction=dict(type='float', default=0.33),
            ari=dict(type='bool', default=True),
        )),
        force=dict(type='raw', default=False),
        ari_timeout=dict(type='int', default=30),
        run_interval=dict(type='float', default=24),
        profile=dict(type='str'),
        preferred_chain=dict(type='str'),
        concurrency=dict(type='int', default=10),
        timeout=dict(type='int', default=300),
        dns_ttl=dict(type='int', default=60),
        dns_propagation_timeout=dict(type='int', default=300),
        dns_servers=dict(type='list', elements='str'),
        store_owner=dict(type='str'),
        file_mode=dict(type='raw', default='0644'),
        key_mode=dict(type='raw', default='0600', no_log=False),
    )
    return spec


# Numeric options and their ranges (minimum, maximum, unit): refused early, naming the option.
DNS_LIMITS = {
    'dns_ttl': TTL_RANGE + ('seconds',),
    'dns_propagation_timeout': POSITIVE + ('seconds',),
    'timeout': POSITIVE + ('seconds',),
    'ari_timeout': POSITIVE + ('seconds',),
    'concurrency': POSITIVE,
}


def _specs(params):
    specs = []
    forced = set()
    if params['phase'] != 'finish':
        forced = forced_names(params['force'], [item['name'] for item in params['certificates']])
    for item in params['certificates']:
        specs.append(CertificateSpec(
            name=item['name'], domains=item['domains'], challenge=item['challenge'],
            key_type=item['key_type'], reuse_key=item['reuse_key'], zone_id=item.get('zone_id'),
            profile=item.get('profile'),
            preferred_chain=item.get('preferred_chain') or params.get('preferred_chain'),
            force=item['force'] or item['name'] in forced, hosts=item.get('hosts') or []))
    names = [s.name for s in specs]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise AutoTLSError('Certificate names must be unique; repeated: %s' % ', '.join(duplicates))
    return specs


def _cleanup_errors(solvers):
    errors = [e for solver in solvers.values() for e in getattr(solver, 'cleanup_errors', [])]
    return list(dict.fromkeys(errors))


def _cleanup(solvers):
    for solver in solvers.values():
        solver.cleanup()
    return _cleanup_errors(solvers)


def _note_schedule(results, policy, run_interval, directory_url, module):
    """Each certificate whose lifetime does not fit the run interval: its result says what to change."""
    for item in results:
        fit = schedule_of_facts(policy, item, run_interval, directory_url, item['name'])
        if fit is not None:
            item['schedule'] = fit
            module.warn(fit['advice'])


def main():
    timings = _timings.PhaseTimings()
    timings.add('imports', _timings.IMPORTED_AT)
    module = acme_module(argument_spec())
    params = module.params
    result = dict(changed=False, certificates=[], cleanup_errors=[])
    solvers, outcomes, sessions = {}, [], []
    chain = None
    try:
        check_ranges(params, DNS_LIMITS)
        check_nameserver_entries(params.get('dns_servers'))
        run_interval = check_run_interval(params['run_interval'])
        configs = issuers_from_params(params)
        # A rollover of an issuer's account key not finished: with the old key the CA would open a new account.
        # That issuer orders nothing this run; its certificates go to the next issuer (see below).
        held = unfinished_rollovers(configs, tidy=not module.check_mode)
        specs = _specs(params)
        # Checked before anything is contacted: quoted octal strings, no key readable by others.
        file_mode = parse_mode(params['file_mode'], 'file_mode')
        key_mode = parse_mode(params['key_mode'], 'key_mode', key=True)
        if any(s.challenge == 'dns-01' for s in specs):
            # Refused before anything is written: a TXT value nobody can check is no use.
            if not HAS_BOTO3:
                module.fail_json(msg=missing_required_lib('boto3'), exception=BOTO3_IMPORT_ERROR)
            if not HAS_DNSPYTHON:
                module.fail_json(msg=missing_required_lib('dnspython'), exception=DNSPYTHON_IMPORT_ERROR)
        if params['phase'] == 'finish':
            solvers['http-01'] = PlacedTokens()
        if any(s.challenge == 'dns-01' for s in specs):
            solvers['dns-01'] = Route53Dns01Solver(
                params, ttl=params['dns_ttl'], propagation_timeout=params['dns_propagation_timeout'],
                nameservers=params.get('dns_servers'), timings=timings)
        policy = RenewalPolicy.from_option(params['renew_before'])
        state = IssuerState(params.get('issuer_state'))
        for name, why in held.items():
            state.hold(name, why)
            module.warn(why)

        def make_issuer(config):
            session = session_from_issuer(config, params, module.check_mode)
            sessions.append(session)
            return Issuer(
                session, solvers, policy, params['dest'],
                workers=params['concurrency'], timeout=params['timeout'],
                account_options=account_options_from_issuer(config),
                file_mode=file_mode, key_mode=key_mode,
                ari_timeout=params['ari_timeout'], timings=timings,
                name=config['name'], state=state, default_profile=config.get('profile') or params.get('profile'),
                owner=params.get('store_owner'))

        chain = IssuerChain(configs, make_issuer, state, run_interval=run_interval)
        # The first issuer's account key is read (or made) before anything is contacted.
        chain.open()
        if params['phase'] == 'finish':
            # The order step decided; this step finishes exactly its orders, planning nothing.
            if params['orders'] is None:
                raise AutoTLSError('phase finish needs orders: the orders returned by the phase order task')
        elif params.get('retry'):
            # Another round of the run: what the finishing step before could not finish at its issuer.
            outcomes = _carried(chain, specs, params['retry'])
            result['orders'] = []
            result['http01_tokens'] = []
        else:
            with timings.phase('plan'):
                outcomes = chain.plan(specs)
            if params['phase'] == 'order':
                result['orders'] = []
                result['http01_tokens'] = []
        if not module.check_mode:
            # SIGTERM (an AWX job timeout, a container stop) ends the run like Ctrl-C does:
            # the challenge records written so far are removed on the way out.
            with terminate_as_interrupt():
                try:
                    if params['phase'] == 'finish':
                        outcomes = chain.resume(specs, params['orders'])
                    elif params.get('retry'):
                        result['orders'] = chain.carry(outcomes)
                        result['http01_tokens'] = http01_tokens(outcomes, result['orders'])
                    else:
                        with timings.phase('ari'):
                            chain.consult_ari(outcomes)
                        if params['phase'] == 'order':
                            result['orders'] = chain.order(outcomes)
                            result['http01_tokens'] = http01_tokens(outcomes, result['orders'])
                        else:
                            chain.run(outcomes)
                finally:
                    for session in sessions:
                        session.close()
            accounts = dict((issuer.name, issuer.session.account.uri) for issuer in chain.used
                            if issuer.session.account is not None)
            if accounts:
                result['account_uri'] = accounts.get(configs[0]['name']) or list(accounts.values())[0]
                result['accounts'] = accounts
                result['account_created'] = any(issuer.session.account_created for issuer in chain.used)
        result['issuer_state'] = state.to_data()
    except AutoTLSError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except KeyboardInterrupt as interrupt:
        # The issuer cleaned up on its way out; once more in case it had not got that far.
        leftovers = _cleanup(solvers)
        result.update(certificates=[o.as_result() for o in outcomes], cleanup_errors=leftovers)
        result['msg'] = 'Interrupted (%s) before the run ended; %s' % (
            interrupt if isinstance(interrupt, Terminated) else 'Ctrl-C',
            'could not remove every challenge record: %s' % '; '.join(leftovers) if leftovers
            else 'the challenge records it had written were removed')
        module.fail_json(**result)
    result['certificates'] = [o.as_result() for o in outcomes]
    # Certificates to order from the next issuer in another round (their challenges must be placed anew).
    result['retry'] = [o.carried() for o in outcomes if o.retry]
    _note_schedule(result['certificates'], chain.first.policy, run_interval, chain.first.session.directory_url, module)
    for warning in chain.warnings:
        module.warn(warning)
    timings.add('total', _timings.IMPORTED_AT)
    result['timings'] = timings.as_dict()
    for outcome in outcomes:
        for warning in outcome.warnings:
            module.warn(warning)
    result['cleanup_errors'] = leftovers = _cleanup_errors(solvers)
    if leftovers:
        # A challenge record left behind is something an operator must hear about.
        result['msg'] = 'Could not remove every challenge record: %s' % '; '.join(leftovers)
        module.fail_json(**result)
    result['changed'] = any(o.changed and o.error is None for o in outcomes)
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        result['msg'] = '%d of %d certificates failed: %s' % (
            len(failed), len(outcomes), '; '.join(str(o.error) for o in failed))
        module.fail_json(**result)
    module.exit_json(**result)


def _carried(chain, specs, retry):
    """The outcomes of certificates carried into this round: decided before, taken as decided."""
    by_name = dict((spec.name, spec) for spec in specs)
    outcomes = []
    for data in retry:
        name = data.get('name') if isinstance(data, dict) else None
        if name not in by_name:
            raise AutoTLSError('retry names certificate %r, which is not in certificates: pass the retry list and '
                               'the certificates of the same run' % (name,))
        outcomes.append(chain.first.carried_outcome(by_name[name], data))
    return outcomes


if __name__ == '__main__':
    main()
