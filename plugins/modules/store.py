#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: store
short_description: Keep issued certificates and keys between runs, locally or in S3
version_added: 0.1.0
description:
  - Syncs the controller's working copy of certificates and keys (a local directory) with
    the store where they are kept between runs. AWX starts every job in a fresh
    container, so a job pulls at its start and pushes at its end.
  - The working copy holds the account key C(account.pem) and the CA root C(ca-root.pem)
    at the top and one directory per certificate with C(cert.pem), C(chain.pem),
    C(fullchain.pem) and C(privkey.pem); every regular file below it is synced, except
    dot-files (temporary files of atomic writes).
  - With O(store.type=s3), O(state=pulled) downloads every object under the prefix whose
    content differs from the local file. Everything is downloaded before anything is
    written, so a pull that fails leaves the working copy as it was. A pull that succeeds
    records what it saw (each object's ETag, each file's SHA-256) in the working copy's
    C(.autotls-store-state.json).
  - O(state=pushed) needs that record and fails without it, so a run whose pull failed can
    never put older files over newer ones. It uploads only the files that changed since
    the pull (what this run wrote) and files the bucket has no object for, always with
    server-side encryption; objects carry the SHA-256 of their content in their metadata
    (C(x-amz-meta-sha256)).
  - The store never goes backwards. If one of those objects changed in the bucket since the
    pull (another run or a person wrote it), the push is refused before anything is
    uploaded, naming the objects (RV(conflicts)). Every upload is also conditional on the
    ETag seen at the pull (S3 conditional writes, C(If-Match), or C(If-None-Match) for a
    new object), for a writer that slips in between.
  - Nothing is ever deleted, in the bucket or locally.
  - With O(store.type=local) the store directory is the working copy; both states only make
    sure it exists with mode C(0700).
  - Private keys (C(privkey.pem), C(account.pem), any C(*key.pem)) are written with mode
    C(0600), other files C(0644), new directories C(0700). File contents are never logged or returned.
  - 'Runs on the controller: use C(delegate_to: localhost) and C(run_once: true) in a play over hosts.'
author:
  - autotls.acme maintainers (@autotls)
extends_documentation_fragment:
  - autotls.acme.aws
  - autotls.acme.aws.actiongroup_aws
attributes:
  check_mode:
    support: full
    description: Reads the bucket and the working copy and reports what would be pulled or pushed; writes nothing.
  diff_mode:
    support: none
    description: Keys and certificates are never shown as diffs.
  idempotent:
    support: full
    description: A second pull or push of unchanged files reports no change.
options:
  state:
    description:
      - V(pulled) makes the working copy match the store (files only in the working copy are kept).
      - V(pushed) uploads what this run changed in the working copy since its pull (objects only in the store are
        kept); it fails when there was no successful pull, or when an object changed in the bucket since then.
    type: str
    choices: [pulled, pushed]
    required: true
  path:
    description:
      - The working copy, a local directory on the controller. Required with O(store.type=s3).
      - With O(store.type=local) leave it out (the working copy is O(store.path)) or set it to the same directory.
    type: path
  store:
    description:
      - Where certificates and keys are kept between runs.
    type: dict
    required: true
    suboptions:
      type:
        description:
          - V(local) for a directory on the controller, V(s3) for an S3 bucket (for AWX).
        type: str
        choices: [local, s3]
        default: local
      path:
        description:
          - With O(store.type=local), the store directory. Required then.
        type: path
      bucket:
        description:
          - With O(store.type=s3), the bucket. Required then.
        type: str
      prefix:
        description:
          - Key prefix of the objects in the bucket; a C(/) is added when missing.
        type: str
        default: autotls/
      sse:
        description:
          - Server-side encryption of uploaded objects. V(aws:kms) uses O(store.kms_key_id), or
            the account's C(aws/s3) key when that is not set.
        type: str
        choices: [AES256, 'aws:kms']
        default: AES256
      kms_key_id:
        description:
          - KMS key (id, C(alias/name) or ARN) for O(store.sse=aws:kms).
        type: str
notes:
  - The credentials need C(s3:ListBucket) on the bucket and C(s3:GetObject) and
    C(s3:PutObject) on the prefix, plus C(kms:GenerateDataKey) and C(kms:Decrypt) with O(store.sse=aws:kms).
  - Two runs that renew the same certificate at the same time do not overwrite each other - the second push
    fails naming the objects, and the next run pulls the newer files. An S3-compatible store must support
    conditional writes (C(If-Match), C(If-None-Match)), as AWS S3 does since 2024.
  - A change of O(store.sse) applies to the objects uploaded from then on.
  - O(aws_endpoint_url) sets the S3 endpoint here (for example a local test server or an S3-compatible store).
seealso:
  - module: autotls.acme.certificate
'''

EXAMPLES = r'''
- name: Bring the certificates and keys of earlier runs into this AWX job's container
  autotls.acme.store:
    state: pulled
    path: /runner/autotls
    store:
      type: s3
      bucket: example-autotls
      prefix: prod/
  delegate_to: localhost
  run_once: true

- name: Keep what this run issued, encrypted with a customer-managed KMS key
  autotls.acme.store:
    state: pushed
    path: /runner/autotls
    store:
      type: s3
      bucket: example-autotls
      prefix: prod/
      sse: aws:kms
      kms_key_id: alias/autotls
    aws_assume_role_arn: arn:aws:iam::123456789012:role/autotls-store
  delegate_to: localhost
  run_once: true

- name: A local store only has to exist
  autotls.acme.store:
    state: pulled
    store:
      type: local
      path: ~/.local/share/autotls
'''

RETURN = r'''
pulled:
  description:
    - Relative paths of the files written (or whose mode was fixed) by O(state=pulled); in check mode, those that would be.
  returned: always
  type: list
  elements: str
  sample: [account.pem, certs/app1/privkey.pem, certs/app1/cert.pem]
pushed:
  description:
    - Relative paths of the files uploaded by O(state=pushed); in check mode, those that would be.
    - When a push fails half-way, the result of the failure lists what was already uploaded.
  returned: always
  type: list
  elements: str
  sample: [certs/app1/privkey.pem, certs/app1/cert.pem]
skipped:
  description: Objects under the prefix that were not pulled, with the reason (also shown as warnings).
  returned: always
  type: list
  elements: str
  sample: ["s3://example-autotls/prod/../x: not a safe relative path"]
working_copy:
  description: The working copy (absolute path). With O(store.type=local), the store directory.
  returned: always
  type: str
  sample: /runner/autotls
type:
  description: The store type.
  returned: always
  type: str
  sample: s3
conflicts:
  description: The objects that changed in the bucket since the pull and were therefore not overwritten.
  returned: when O(state=pushed) failed for that reason
  type: list
  elements: str
  sample: ["s3://example-autotls/prod/app1/cert.pem"]
bucket:
  description: The bucket.
  returned: when O(store.type=s3)
  type: str
  sample: example-autotls
prefix:
  description: The key prefix, ending in C(/) unless empty.
  returned: when O(store.type=s3)
  type: str
  sample: prod/
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import aws_argument_spec, aws_required_together
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._store.store import DEFAULT_PREFIX, SSE_CHOICES, sync


def argument_spec():
    spec = aws_argument_spec()
    spec.update(
        state=dict(type='str', required=True, choices=['pulled', 'pushed']),
        path=dict(type='path'),
        store=dict(type='dict', required=True, options=dict(
            type=dict(type='str', default='local', choices=['local', 's3']),
            path=dict(type='path'),
            bucket=dict(type='str'),
            prefix=dict(type='str', default=DEFAULT_PREFIX),
            sse=dict(type='str', default='AES256', choices=list(SSE_CHOICES)),
            kms_key_id=dict(type='str', no_log=False),
        ), required_if=[['type', 'local', ['path']], ['type', 's3', ['bucket']]]),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_together=aws_required_together(),
                           supports_check_mode=True)
    try:
        result = sync(module.params, module.params['state'], check_mode=module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    for skipped in result['skipped']:
        module.warn('Not pulled: %s' % skipped)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
