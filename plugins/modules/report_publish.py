#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: report_publish
short_description: Publish check.yml's HTML report to the S3 store, with a presigned link
version_added: 0.1.0
description:
  - Uploads the report page O(src) to the S3 store's bucket under C(<prefix>report/) - once as
    C(check-<UTC time>.html) and once as C(latest.html) - with the store's server-side encryption, and returns a
    presigned link to the dated copy, valid for O(expires) seconds. The bucket stays private; the link is what
    people open (an AWX job's files vanish with its container).
  - The link points to the dated copy, so a link in an older message keeps showing that run's report.
  - 'Runs on the controller: use C(delegate_to: localhost) and C(run_once: true) in a play over hosts.'
author:
  - autotls.acme maintainers (@autotls)
extends_documentation_fragment:
  - autotls.acme.aws
attributes:
  check_mode:
    support: full
    description: Returns the keys it would write; uploads nothing and makes no link.
  diff_mode:
    support: none
    description: No diff is shown.
  idempotent:
    support: none
    description: Every run uploads a new dated copy.
options:
  src:
    description: The HTML report on the controller.
    type: path
    required: true
  store:
    description: The S3 store, as C(autotls_store).
    type: dict
    required: true
    suboptions:
      bucket:
        description: The bucket.
        type: str
        required: true
      prefix:
        description: Key prefix of the store; the report goes under C(<prefix>report/).
        type: str
        default: autotls/
      sse:
        description: Server-side encryption of the uploads.
        type: str
        choices: [AES256, 'aws:kms']
        default: AES256
      kms_key_id:
        description: KMS key for O(store.sse=aws:kms).
        type: str
  expires:
    description: Seconds the presigned link stays valid, from 60 to 604800 (7 days, the most S3 allows).
    type: int
    default: 604800
notes:
  - The credentials need C(s3:PutObject) (and C(kms:GenerateDataKey) with C(aws:kms)) on C(<prefix>report/*); the
    link works as long as those credentials do and O(expires) has not passed (a link made with temporary
    credentials, such as an assumed role's, ends with them).
seealso:
  - module: autotls.acme.store
  - module: autotls.acme.notify
'''

EXAMPLES = r'''
- name: Publish the report
  autotls.acme.report_publish:
    src: /runner/autotls/report.html
    store:
      bucket: example-autotls
      prefix: prod/
  register: published
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
url:
  description: The presigned link to the dated copy; none in check mode.
  returned: always
  type: str
key:
  description: The dated copy's object key.
  returned: always
  type: str
  sample: prod/report/check-20271201T031500Z.html
latest_key:
  description: The key of the copy that is always the last report.
  returned: always
  type: str
  sample: prod/report/latest.html
expires_at:
  description: When the link stops working, UTC.
  returned: always
  type: str
  sample: "2027-12-08T03:15:00Z"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import (
    HAS_BOTO3,
    aws_argument_spec,
    aws_required_together,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._store.publish import MAX_EXPIRES, publish_report
from ansible_collections.autotls.acme.plugins.module_utils._store.store import (
    DEFAULT_PREFIX,
    SSE_CHOICES,
    S3Store,
    s3_client,
)


def argument_spec():
    spec = aws_argument_spec()
    spec.update(
        src=dict(type='path', required=True),
        store=dict(type='dict', required=True, options=dict(
            bucket=dict(type='str', required=True),
            prefix=dict(type='str', default=DEFAULT_PREFIX),
            sse=dict(type='str', default='AES256', choices=list(SSE_CHOICES)),
            kms_key_id=dict(type='str', no_log=False),
        )),
        expires=dict(type='int', default=MAX_EXPIRES),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_together=aws_required_together(),
                           supports_check_mode=True)
    params = module.params
    if not HAS_BOTO3:
        module.fail_json(msg='boto3 and botocore are required to publish the report')
    try:
        with open(params['src'], 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        module.fail_json(msg='Cannot read the report %s: %s' % (params['src'], exc.strerror or exc))
    try:
        options = params['store']
        store = S3Store(s3_client(params, signature_version='s3v4'), options['bucket'], prefix=options['prefix'], sse=options['sse'],
                        kms_key_id=options['kms_key_id'])
        result = publish_report(store, data, params['expires'], check_mode=module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(changed=not module.check_mode, **result)


if __name__ == '__main__':
    main()
