#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: notify
short_description: Send one summary of a renewal run to Slack and/or by email
version_added: 0.1.0
description:
  - Sums up the per-certificate results of M(autotls.acme.certificate) in one message - counts,
    then the certificates renewed (with their new expiry), those that failed (with the reason)
    and those expiring soon - or C(Nothing to do) when every certificate is valid.
  - Sends that one message to a Slack incoming webhook (text plus mrkdwn blocks) and/or by
    email over SMTP (plain text with an HTML alternative).
  - Meant for an C(always) section, so that a failed run still reports. By default a
    notification that cannot be delivered only warns (see O(fail_on_error)).
  - Slack deliveries are retried on connection failures and HTTP 408, 429 and 5xx, honouring
    C(Retry-After) up to 10 seconds; SMTP deliveries on connection failures and 4xx answers;
    each channel gives up after O(timeout) seconds.
  - 'Runs on the controller: use C(delegate_to: localhost) and C(run_once: true) in a play over hosts.'
author:
  - autotls.acme maintainers (@autotls)
requirements:
  - requests (for Slack)
attributes:
  check_mode:
    support: full
    description: Builds and returns the summary; sends nothing.
  diff_mode:
    support: none
    description: Nothing is compared.
  idempotent:
    support: none
    description: Every run sends a message.
options:
  results:
    description:
      - The per-certificate results, as returned in RV(autotls.acme.certificate#module:certificates) by
        M(autotls.acme.certificate).
      - Each is a dict with C(name), C(action) (C(issue), C(renew) or C(none)), C(changed), C(failed),
        C(msg), C(not_after), C(days_left), C(lifetime_fraction_left), C(hosts) and C(reason); missing
        keys are tolerated and other keys ignored.
      - A certificate counts as renewed when it was changed by an C(issue) or C(renew) action and did not fail.
      - C(acme_issuer), C(moved) and C(issuers_tried) name the issuer it came from and those it moved away from;
        C(deferred) lists it under C(Deferred (rate limited)).
    type: list
    elements: dict
    required: true
  deployed:
    description:
      - Where certificates were deployed in this run, as dicts with C(host) and C(certificate), and optionally
        C(servers), the servers of the host that serve it (named next to the host).
      - Shown next to the renewed certificates; deployments of certificates that were not renewed
        are listed as C(Redeployed).
    type: list
    elements: dict
    default: []
  run_error:
    description:
      - A failure that stopped the run as a whole (for example the CA being unreachable),
        shown at the top of the summary. Same as one entry of O(run_errors).
    type: str
  run_errors:
    description:
      - Failures of the run as a whole rather than of one certificate - the store could not be
        pulled or pushed, conflicting declarations, a step that failed - shown first, under
        C(Run failed). Empty strings are ignored; duplicates are shown once.
    type: list
    elements: str
    default: []
  hosts:
    description:
      - Hosts the run could not finish, shown under C(Hosts failed) and counted in the totals.
      - Each is a dict with C(host), C(status) (V(unreachable), V(failed) for a failed deploy or
        another failed step, V(rolled_back) when the previous certificate files were put back),
        C(msg) (why) and optionally C(certificates) (the certificates concerned).
    type: list
    elements: dict
    default: []
  expiring_days:
    description:
      - Certificates with fewer days left than this that were not renewed are listed as expiring soon.
      - Certificates whose whole lifetime is shorter than twice this are listed only when less
        than a quarter of their lifetime is left (a 24-hour certificate always has fewer than 14 days).
      - From 0 to 3650.
    type: int
    default: 14
  title:
    description:
      - First line of the summary, the Slack header, and part of the email subject.
      - Defaults to C(autotls run on <controller hostname>). One line (no CR or LF).
    type: str
  report_url:
    description:
      - A link to the HTML report (for example the presigned link M(autotls.acme.report_publish) returns), shown at
        the end of the summary - a line in the text, a link in the email's HTML and in Slack.
      - An C(http://) or C(https://) URL without blanks.
      - A presigned link lets anyone who has it read the report, so it is kept out of the module's result (its
        C(summary) shows it masked) and hence out of the job's output and events; only the messages sent carry it.
    type: str
  slack:
    description:
      - Send the summary to this Slack incoming webhook.
    type: dict
    suboptions:
      webhook_url:
        description:
          - The incoming webhook URL, C(https://). It is a secret; it never appears in the output.
          - An C(http://) URL is refused (its path, the secret, would cross the network unencrypted)
            unless O(slack.allow_http=true).
        type: str
        required: true
      allow_http:
        description:
          - Accept an C(http://) O(slack.webhook_url), for a relay you trust on the same host or network.
        type: bool
        default: false
      channel:
        description:
          - Channel to post to, for legacy webhooks that allow overriding it. Webhooks of Slack
            apps always post to the channel they were made for. One line.
        type: str
      username:
        description:
          - Name to post as, for legacy webhooks that allow overriding it. One line.
        type: str
  email:
    description:
      - Send the summary by email.
    type: dict
    suboptions:
      to:
        description:
          - Recipients, each one line (no CR or LF) - header values with line breaks are refused.
        type: list
        elements: str
        required: true
      from:
        description:
          - Sender address. Defaults to C(autotls@<controller FQDN>). One line.
        type: str
      smtp_host:
        description:
          - Mail server to hand the message to.
        type: str
        required: true
      smtp_port:
        description:
          - Port of the mail server (1 to 65535). Defaults to 587, or to 465 with O(email.ssl=true).
        type: int
      starttls:
        description:
          - Upgrade the connection with STARTTLS before authenticating and sending; fails when the server does not offer it.
          - Set to V(false) for a server without TLS (port 25 or a local relay). Ignored with O(email.ssl=true).
        type: bool
        default: true
      ssl:
        description:
          - Use implicit TLS from the first byte (SMTPS, usually port 465).
        type: bool
        default: false
      username:
        description:
          - User name to authenticate with; needs O(email.password).
          - Refused when neither O(email.starttls) nor O(email.ssl) is on (the password would be sent in
            clear text), unless O(email.allow_plain_auth=true).
        type: str
      allow_plain_auth:
        description:
          - Authenticate over an unencrypted connection, for a relay on the same host.
        type: bool
        default: false
      password:
        description:
          - Password for O(email.username). It never appears in the output.
        type: str
      subject:
        description:
          - Prefix of the subject line; the rest is the title and the counts. One line.
        type: str
        default: '[autotls]'
  timeout:
    description:
      - Seconds each channel may take in total, retries included. More than 0, at most 3600.
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the TLS certificates of the webhook and of the mail server.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificates to trust for the webhook and the mail server instead of
        the system's, for example a private CA's root.
    type: path
  fail_on_error:
    description:
      - V(false) turns a notification that could not be delivered into a warning, so that
        reporting never fails a run. V(true) fails the task.
    type: bool
    default: false
notes:
  - With neither O(slack) nor O(email) the summary is only returned (RV(summary), RV(totals_line)).
  - Bad options (an C(http://) webhook, SMTP AUTH without TLS, a line break in a header value, a number out of
    range) fail the task at once with a message naming the option, even with O(fail_on_error=false).
  - The summary never contains the webhook URL or the SMTP password.
seealso:
  - module: autotls.acme.certificate
  - name: Slack incoming webhooks
    description: How to make a webhook URL for a channel.
    link: https://api.slack.com/messaging/webhooks
'''

EXAMPLES = r'''
- name: Renew, and report to Slack and by email whatever happens
  block:
    - name: Issue or renew what is due
      autotls.acme.certificate:
        acme_directory: letsencrypt
        account_key_content: "{{ vault_acme_account_key }}"
        terms_agreed: true
        dest: /srv/autotls/certs
        certificates: "{{ autotls_certificates }}"
      register: renewal
  always:
    - name: Report the run
      autotls.acme.notify:
        results: "{{ renewal.certificates | default([]) }}"
        # A failure before any certificate was looked at (bad account key, CA unreachable).
        run_error: "{{ renewal.msg | default(omit) if (renewal.certificates | default([])) | length == 0 else omit }}"
        slack:
          webhook_url: "{{ vault_slack_webhook_url }}"
        email:
          to: [ops@example.com]
          from: autotls@example.com
          smtp_host: smtp.example.com
          username: autotls
          password: "{{ vault_smtp_password }}"
  delegate_to: localhost
  run_once: true

- name: Through a local relay on port 25, without TLS, failing the task if mail cannot go out
  autotls.acme.notify:
    results: "{{ autotls_issue_results }}"
    expiring_days: 21
    title: Nightly certificate run (production)
    email:
      to: [pki-team@example.com, oncall@example.com]
      smtp_host: localhost
      smtp_port: 25
      starttls: false
      subject: '[PKI]'
    fail_on_error: true
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
sent:
  description: Whether each channel delivered the summary (always V(false) in check mode).
  returned: always
  type: dict
  contains:
    slack:
      description: The webhook accepted the message.
      type: bool
      sample: true
    email:
      description: The mail server accepted the message.
      type: bool
      sample: false
errors:
  description: What went wrong per channel; with O(fail_on_error=false) each also shows as a warning.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      Could not send email through smtp://smtp.example.com:587: gave up after 4 attempts within
      the 30 s timeout; last error: ConnectionRefusedError ([Errno 111] Connection refused)
summary:
  description: The summary as plain text, as sent (with O(report_url) masked).
  returned: always
  type: str
  sample: |-
    autotls run on awx-ee-7f9c

    3 certificates checked: 1 renewed, 1 failed, 0 expiring soon, 1 valid.

    Renewed:
      - app1: new expiry 2027-02-20 10:00 UTC, 89 days left
    Failed:
      - qa1-wildcard: Failed to list hosted zones: AccessDenied
subject:
  description: The email subject line.
  returned: always
  type: str
  sample: "[autotls] autotls run on awx-ee-7f9c: 1 failed, 1 renewed"
counts:
  description:
    - How many certificates were checked, renewed (C(renewed) counts first issues too; C(issued) and
      C(renewed_only) split it), failed, expiring soon, valid and unchanged; how many deployments were
      made; how many hosts were deployed to and how many failed; how many run-level failures there were;
      how many certificates were deferred to the next run because every issuer rate-limited.
  returned: always
  type: dict
  sample: {checked: 3, renewed: 1, issued: 0, renewed_only: 1, failed: 1, expiring: 0, valid: 1, unchanged: 1,
           deployed: 2, hosts_deployed: 2, hosts_failed: 1, run_errors: 0, deferred: 0}
totals_line:
  description: One line of totals, the last line a run prints - issued, renewed, unchanged, failed (and deferred, when any), hosts deployed, hosts failed.
  returned: always
  type: str
  sample: "Totals: 0 issued, 1 renewed, 1 unchanged, 1 failed; 2 hosts deployed, 1 host failed."
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._notify.notify import (
    DEFAULT_EXPIRING_DAYS,
    DEFAULT_SUBJECT_PREFIX,
    RunSummary,
    check_options,
    send_summary,
)


def argument_spec():
    return dict(
        results=dict(type='list', elements='dict', required=True),
        deployed=dict(type='list', elements='dict', default=[]),
        run_error=dict(type='str'),
        run_errors=dict(type='list', elements='str', default=[]),
        hosts=dict(type='list', elements='dict', default=[]),
        expiring_days=dict(type='int', default=DEFAULT_EXPIRING_DAYS),
        title=dict(type='str'),
        report_url=dict(type='str', no_log=True),
        slack=dict(type='dict', options=dict(
            webhook_url=dict(type='str', required=True, no_log=True),
            allow_http=dict(type='bool', default=False),
            channel=dict(type='str'),
            username=dict(type='str'),
        )),
        email=dict(type='dict', options={
            'to': dict(type='list', elements='str', required=True),
            'from': dict(type='str'),
            'smtp_host': dict(type='str', required=True),
            'smtp_port': dict(type='int'),
            'starttls': dict(type='bool', default=True),
            'ssl': dict(type='bool', default=False),
            'username': dict(type='str'),
            'password': dict(type='str', no_log=True),
            'allow_plain_auth': dict(type='bool', default=False),
            'subject': dict(type='str', default=DEFAULT_SUBJECT_PREFIX),
        }, required_together=[['username', 'password']]),
        timeout=dict(type='int', default=30),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        fail_on_error=dict(type='bool', default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        check_options(params)
        summary = RunSummary(params['results'], deployed=params['deployed'],
                             expiring_days=params['expiring_days'], title=params['title'],
                             run_error=params['run_error'], run_errors=params['run_errors'],
                             hosts=params['hosts'], report_url=params['report_url'])
        outcome = send_summary(summary, slack=params['slack'], mail=params['email'],
                               timeout=params['timeout'], verify=params['validate_certs'],
                               ca_path=params['ca_path'], check_mode=module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg, **exc.details)

    subject_prefix = (params['email'] or {}).get('subject', DEFAULT_SUBJECT_PREFIX)
    result = dict(
        changed=any(outcome.sent.values()) or (module.check_mode and bool(params['slack'] or params['email'])),
        sent=outcome.sent,
        errors=outcome.errors,
        summary=summary.text(),
        subject=summary.subject(subject_prefix),
        counts=summary.counts(),
        totals_line=summary.totals_line(),
    )
    if outcome.errors:
        if params['fail_on_error']:
            module.fail_json(msg='Could not deliver the run summary: %s' % '; '.join(outcome.errors), **result)
        for error in outcome.errors:
            module.warn(error)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
