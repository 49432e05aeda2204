#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: metrics_push
short_description: Push the metrics of a run to a Prometheus Pushgateway
version_added: 0.1.0
description:
  - Sends what a run did - when it ended, whether it succeeded, how long it and each stage took, certificates
    issued, renewed, unchanged, failed and deferred, hosts deployed and failed - to a Prometheus Pushgateway, in the
    group C(job=<job>) plus O(grouping). The metric names are listed in the collection's C(docs/metrics.md).
  - A run that succeeded replaces the whole group (HTTP C(PUT)) and sets C(autotls_run_last_success_timestamp_seconds).
    A failed run replaces only the metrics it sends (HTTP C(POST)), so the time of the last successful run stays
    for the alert on missing runs.
  - Retries connection failures and HTTP 408, 429 and 5xx (honouring C(Retry-After) up to 10 seconds) within
    O(timeout) seconds.
  - 'Runs on the controller: use C(delegate_to: localhost) and C(run_once: true) in a play over hosts. C(renew.yml)
    runs it when C(autotls_metrics.pushgateway_url) is set.'
author:
  - autotls.acme maintainers (@autotls)
requirements:
  - requests
attributes:
  check_mode:
    support: full
    description: Renders the metrics and returns them; pushes nothing.
  diff_mode:
    support: none
    description: Nothing is compared.
  idempotent:
    support: none
    description: Every run pushes.
options:
  url:
    description: The Pushgateway's base URL, C(http://host:9091) or C(https://...), without a user or password in it (O(username), O(password)).
    type: str
    required: true
  job:
    description: The C(job) label of the group.
    type: str
    default: autotls
  grouping:
    description:
      - More labels of the group, for example C(inventory=prod) when several inventories push to one Pushgateway.
    type: dict
    default: {}
  username:
    description: User for HTTP basic authentication.
    type: str
  password:
    description: Password for HTTP basic authentication.
    type: str
  validate_certs:
    description: Verify the Pushgateway's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: A CA bundle to verify the Pushgateway's certificate with, instead of the system's.
    type: path
  timeout:
    description: Seconds for the whole push, retries included.
    type: float
    default: 30
  results:
    description: The per-certificate results of the run (C(autotls_issue_results)); a result with C(deferred) counts as deferred.
    type: list
    elements: dict
    default: []
  outcome:
    description: What the filter C(autotls.acme.run_outcome) returned (hosts deployed and failed, run-level failures).
    type: dict
    default: {}
  stages:
    description:
      - The stage marks of the run, C([name, unix time]) pairs in order; the first marks the start (its name is not
        a stage), each next one the end of the stage it names.
    type: list
    elements: raw
    default: []
  success:
    description: Whether the run succeeded.
    type: bool
    required: true
seealso:
  - module: autotls.acme.metrics_textfile
'''

EXAMPLES = r'''
- name: Push the run's metrics
  autotls.acme.metrics_push:
    url: http://pushgateway.example.com:9091
    grouping:
      inventory: prod
    results: "{{ autotls_issue_results }}"
    outcome: "{{ outcome }}"
    stages: [[start, 1798000000], [issue, 1798000042.5], [deploy, 1798000060]]
    success: true
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
url:
  description: Where the metrics went (the group's URL); in check mode, where they would go.
  returned: always
  type: str
  sample: http://pushgateway.example.com:9091/metrics/job/autotls/inventory/prod
method:
  description: C(PUT) (the run succeeded) or C(POST) (it failed).
  returned: always
  type: str
metrics:
  description: The pushed metrics, in Prometheus' text format.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._metrics.exposition import render
from ansible_collections.autotls.acme.plugins.module_utils._metrics.run import (
    DEFAULT_JOB,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    Pushgateway,
    check_url,
    grouping_path,
    run_families,
)


def argument_spec():
    return dict(
        url=dict(type='str', required=True),
        job=dict(type='str', default=DEFAULT_JOB),
        grouping=dict(type='dict', default={}),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=30),
        results=dict(type='list', elements='dict', default=[]),
        outcome=dict(type='dict', default={}),
        stages=dict(type='list', elements='raw', default=[]),
        success=dict(type='bool', required=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    method = 'PUT' if params['success'] else 'POST'
    try:
        families = run_families(params['results'], params['outcome'], params['stages'], params['success'])
        url = check_url(params['url']) + grouping_path(params['job'], params['grouping'])
        if not module.check_mode:
            verify = params['ca_path'] or params['validate_certs']
            gateway = Pushgateway(params['url'], timeout=params['timeout'], verify=verify,
                                  username=params['username'], password=params['password'])
            url = gateway.push(families, params['job'], params['grouping'], replace=params['success'])
    except AutoTLSError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    module.exit_json(changed=not module.check_mode, url=url, method=method, metrics=render(families))


if __name__ == '__main__':
    main()
