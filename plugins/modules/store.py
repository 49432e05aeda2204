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
  - With O(store.type=s3), O(state=pulled) reads the store's manifest (C(.autotls-manifest.json) under the
    prefix, written last by the issuing run) and downloads exactly the files it lists, each from the object it
    names, each checked against the SHA-256 it lists. A deploy that starts while an issuer writes therefore gets
    the previous complete snapshot, never a new key beside an old certificate. Everything is downloaded before
    anything is written, so a pull that fails leaves the working copy as it was. A pull that succeeds records what
    it saw in the working copy's C(.autotls-store-state.json). A bucket without a manifest is read by listing
    its objects.
  - O(state=pushed) needs that record and fails without it, so a run whose pull failed can never put older files
    over newer ones. It uploads only what this run wrote (files changed since the pull, and differing from the
    store; files that were only in the working copy at the pull stay there), each certificate as a whole. Every
    file goes to a new object (C(<path>.<UTC time>-<random>)), never over one a reader may be downloading, with
    server-side encryption and the SHA-256 of its content in its metadata (C(x-amz-meta-sha256)). Then it writes
    the new manifest, conditional on the manifest it read (C(If-Match)); that one write makes the new files
    current. A push that fails half-way leaves the previous manifest, so the store still holds the previous
    complete snapshot.
  - Before a manifest is written, each certificate's key is checked to be the key of its certificate, so the store
    never lists a mismatched pair. The manifest lists each certificate's serial and expiry (RV(manifest)).
  - The store never goes backwards. If another run changed one of this run's certificates since the pull, the
    push is refused before anything is uploaded, naming the objects (RV(conflicts)). Changes to other
    certificates are kept; the new manifest adds this run's files to the other run's.
  - A file this run removed from the working copy since its pull (a certificate retired or revoked, whose set
    moved aside to C(retired/) or C(revoked/)) is taken out of the manifest by the push (RV(removed)), so
    pulls no longer bring it back.
  - Objects the manifest no longer lists are deleted by a later push, one hour after they were superseded (with
    C(s3:DeleteObject); without it they are kept, with a warning).
  - With O(store.type=local) the store directory is the working copy. O(state=pulled) only makes sure it exists
    with mode C(0700) and returns the manifest; O(state=pushed) writes the manifest of the directory as it is
    (each certificate's files are already swapped in as one set, so a reader sees a whole old or a whole new set).
  - The lease - only one issuing run at a time may write a store. O(state=acquired) takes the store's lease
    before the issuing run pulls, an S3 object C(.autotls-lease.json) under the prefix, created with a conditional
    write (C(If-None-Match)); with a local store the file C(.autotls-lease.json) in the store, changed under an
    C(flock) on C(.autotls-lease.lock). The lease names its holder (O(lease_holder)) and ends O(lease_duration)
    seconds after it was taken or last renewed. A second issuer waits up to O(lease_wait) seconds for it, then
    fails naming the holder and when its lease ends. A lease that ended (its holder crashed) is taken over; two
    runs that take it over at once cannot both get it (the overwrite is conditional on the ETag read).
  - O(state=acquired) returns RV(lease.id); pass it as O(lease_id) to O(state=acquired) again to renew the lease
    (from now for O(lease_duration)), to O(state=pushed) to check and renew the lease before anything is
    uploaded (it fails, writing nothing, if the lease was lost), and to O(state=released) at the end of the run,
    in an C(always:) block. Releasing with an empty O(lease_id) (the acquire failed) releases nothing; another
    run's lease is never released. Deploy runs (pulls) take no lease.
  - Private keys (C(privkey.pem), C(account.pem) and a rollover's C(account.pem.new) or C(account.pem.pending), any
    C(*key.pem)) are written with mode C(0600), other files C(0644), new directories C(0700). File contents are never logged or returned.
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
      - V(pulled) makes the working copy match the store's manifest (files only in the working copy are kept).
      - V(pushed) uploads what this run changed in the working copy since its pull, then the manifest (files only
        in the store are kept, files this run removed are taken out); it fails when there was no successful pull, or when another run changed one of this
        run's certificates since then.
      - With O(lease_id), V(pushed) renews the lease before it uploads and checks again, before it writes the manifest,
        that the lease is still this run's and unchanged; when it was lost it fails naming the new holder, deletes
        the objects it uploaded and leaves the previous manifest current.
      - V(acquired) takes the store's lease (or renews it, with O(lease_id)); V(released) gives it up.
    type: str
    choices: [pulled, pushed, acquired, released]
    required: true
  lease_id:
    description:
      - The RV(lease.id) that O(state=acquired) returned. With O(state=acquired) it renews that lease, with
        O(state=pushed) the push first checks and renews it, with O(state=released) it is the lease released.
      - An empty value releases nothing (for an C(always:) block after an acquire that failed).
    type: str
  lease_holder:
    description:
      - Who holds the lease, as other runs' messages name it, and as the manifest records the writer.
      - By default C(AWX job <JOB_ID> on <AWX_HOST>) in an AWX job (from the environment AWX sets), else
        C(user@host:pid) of the C(ansible-playbook) process. A playbook can pass the job template's name, for
        example C("{{ awx_job_template_name }} (job {{ awx_job_id }})").
    type: str
  lease_duration:
    description:
      - Seconds the lease lasts from when it is taken or renewed, 60 to 604800. Size it above the longest step
        between two renewals of an issuing run; a crashed run blocks issuing for at most this long.
    type: int
    default: 3600
  lease_wait:
    description:
      - Seconds O(state=acquired) waits for another run's lease to end before it fails, 0 to 86400.
    type: int
    default: 300
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
  - The credentials need C(s3:ListBucket) on the bucket and C(s3:GetObject), C(s3:PutObject) and
    C(s3:DeleteObject) on the prefix (the lease is deleted when released; superseded objects are deleted an hour
    later; objects a failed push uploaded are deleted at once, and those a crashed push left by a push an hour
    later), plus C(kms:GenerateDataKey) and C(kms:Decrypt) with O(store.sse=aws:kms).
  - Before its first upload a push writes the names of the objects it is about to upload to
    C(<prefix>.autotls-pending/), and deletes that record when its manifest is written. A later push deletes only
    the objects such a record names that no manifest lists, so another store under the same prefix (or above it)
    is never touched. Without a current manifest nothing is deleted (a warning says so).
  - Two runs that renew the same certificate at the same time do not overwrite each other - the second push
    fails naming the objects, and the next run pulls the newer files. An S3-compatible store must support
    conditional writes and deletes (C(If-Match), C(If-None-Match)), as AWS S3 does since 2024.
  - Lease expiry is wall-clock time, so the controllers sharing a store need clocks within a minute of each other.
  - To end a crashed run's lease at once, delete C(<prefix>.autotls-lease.json) in the bucket (or the file
    C(.autotls-lease.json) in a local store); the message of a waiting run names it.
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

- name: An issuing run holds the store's lease from its pull to its push
  block:
    - name: Take the store's lease (wait up to 10 minutes for another issuing run)
      autotls.acme.store:
        state: acquired
        store: {type: s3, bucket: example-autotls, prefix: prod/}
        lease_wait: 600
        lease_holder: "{{ awx_job_template_name | default('manual run') }} (job {{ awx_job_id | default('-') }})"
      register: store_lease
      delegate_to: localhost
      run_once: true

    - name: Pull, under the lease
      autotls.acme.store:
        state: pulled
        path: /runner/autotls
        store: {type: s3, bucket: example-autotls, prefix: prod/}
      delegate_to: localhost
      run_once: true

    # ... issue ...

    - name: Push what this run issued, then the manifest; fails if the lease was lost
      autotls.acme.store:
        state: pushed
        path: /runner/autotls
        store: {type: s3, bucket: example-autotls, prefix: prod/}
        lease_id: "{{ store_lease.lease.id }}"
      delegate_to: localhost
      run_once: true
  always:
    - name: Give the lease up, also when the run failed
      autotls.acme.store:
        state: released
        store: {type: s3, bucket: example-autotls, prefix: prod/}
        lease_id: "{{ store_lease.lease.id | default('') }}"
      delegate_to: localhost
      run_once: true
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
  returned: when an object was not pulled
  type: list
  elements: str
  sample: ["s3://example-autotls/prod/../x: not a safe relative path"]
working_copy:
  description: The working copy (absolute path; null with O(state=acquired) or O(state=released) and no O(path)). With O(store.type=local), the store directory.
  returned: always
  type: str
  sample: /runner/autotls
type:
  description: The store type.
  returned: always
  type: str
  sample: s3
removed:
  description:
    - Relative paths that O(state=pushed) took out of the store's manifest because this run removed them from
      the working copy since its pull; in check mode, those it would take out.
  returned: with O(state=pushed) and O(store.type=s3)
  type: list
  elements: str
  sample: [certs/old-app/privkey.pem, certs/old-app/cert.pem]
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
manifest:
  description:
    - The store's manifest as the pull read it or the push wrote it (empty when the store has none), with its
      C(generation), when (C(written)) and by whom (C(holder)) it was written, and per certificate name its
      C(serial) (hexadecimal), C(not_after) and C(files). No checksums.
  returned: with O(state=pulled) and O(state=pushed)
  type: dict
  sample: {generation: 12, written: '2026-12-01T02:14:09Z', holder: 'autotls issue (job 4711)',
           certificates: {app1: {serial: 3f0c9a..., not_after: '2027-03-01T01:14:08Z',
                                 files: [certs/app1/cert.pem, certs/app1/chain.pem, certs/app1/fullchain.pem,
                                         certs/app1/privkey.pem]}}}
lease:
  description:
    - With O(state=acquired), the lease this run now holds, or in check mode the one it would take (or another
      run's that holds it, without C(id)). With O(state=pushed) and O(lease_id), the renewed lease.
  returned: with O(state=acquired); with O(state=pushed) when O(lease_id) is set
  type: dict
  contains:
    id:
      description: What O(lease_id) takes to renew, check and release this lease. Only this run's own lease has it.
      type: str
      returned: when this run holds the lease
      sample: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
    holder:
      description: Who holds the lease (O(lease_holder)).
      type: str
      returned: always
      sample: AWX job 4711 on https://awx.example.com
    acquired:
      description: When the lease was taken (UTC).
      type: str
      returned: always
      sample: '2026-12-01T02:00:03Z'
    renewed:
      description: When the lease was last renewed (UTC).
      type: str
      returned: always
      sample: '2026-12-01T02:00:03Z'
    expires:
      description: When the lease ends unless it is renewed (UTC).
      type: str
      returned: always
      sample: '2026-12-01T03:00:03Z'
    duration:
      description: Seconds the lease lasts from its last renewal.
      type: int
      returned: always
      sample: 3600
    store:
      description: Where the lease is kept.
      type: str
      returned: always
      sample: 's3://example-autotls/prod/.autotls-lease.json'
waited:
  description: Seconds O(state=acquired) waited for another run's lease.
  returned: with O(state=acquired)
  type: int
  sample: 0
took_over:
  description: The holder and end (C(holder), C(expires)) of an ended lease this run took over; empty if none.
  returned: with O(state=acquired)
  type: dict
  sample: {holder: AWX job 4710 on https://awx.example.com, expires: '2026-12-01T01:58:00Z'}
released:
  description: Whether O(state=released) gave the lease up (false when it was no longer this run's).
  returned: with O(state=released)
  type: bool
  sample: true
holder:
  description: When the lease is held by another run at the end of O(lease_wait), that run.
  returned: when O(state=acquired) failed for that reason
  type: str
  sample: AWX job 4710 on https://awx.example.com
expires:
  description: When the lease that made O(state=acquired) fail ends (UTC).
  returned: when O(state=acquired) failed for that reason
  type: str
  sample: '2026-12-01T03:00:03Z'
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import aws_argument_spec, aws_required_together
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._store.lease import DEFAULT_DURATION, DEFAULT_WAIT
from ansible_collections.autotls.acme.plugins.module_utils._store.store import DEFAULT_PREFIX, SSE_CHOICES, sync


def argument_spec():
    spec = aws_argument_spec()
    spec.update(
        state=dict(type='str', required=True, choices=['pulled', 'pushed', 'acquired', 'released']),
        path=dict(type='path'),
        lease_id=dict(type='str', no_log=False),
        lease_holder=dict(type='str'),
        lease_duration=dict(type='int', default=DEFAULT_DURATION),
        lease_wait=dict(type='int', default=DEFAULT_WAIT),
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
    # A result with a key named "skipped" is taken by Ansible for a skipped task, and then
    # changed_when is never applied: the key is only there when something was not pulled.
    if not result['skipped']:
        del result['skipped']
    for warning in result.pop('warnings', []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
