#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: route53_txt
short_description: Add or remove individual TXT values in AWS Route53
version_added: 0.1.0
description:
  - Manages single values of a TXT record set in an AWS Route53 hosted zone, leaving the
    other values of the same name alone.
  - With O(state=present) the given values are merged with the values already there.
    With O(state=absent) exactly the given values are removed, and the record set is
    deleted when none remain.
  - The hosted zone is the one whose name is the longest suffix of O(name), unless
    O(zone_id) is given.
  - Values are stored quoted, with C(") and C(\) escaped, and split into strings of at
    most 255 octets; they are compared and returned decoded.
  - Stopped by SIGTERM (a job timeout, a container stop) or Ctrl-C with O(state=present),
    the module removes the values it added before it ends, and fails.
extends_documentation_fragment:
  - autotls.acme.aws
  - autotls.acme.aws.actiongroup_aws
attributes:
  check_mode:
    support: full
    description: Route53 is read so that RV(ignore:changed) is honest; nothing is written.
  diff_mode:
    support: full
    description: Shows the TTL and values of the record set before and after.
  idempotent:
    support: full
    description: A second run with the same options reports no change.
options:
  name:
    description:
      - Fully qualified name of the TXT record, for example C(_acme-challenge.example.com).
    type: str
    required: true
  values:
    description:
      - TXT values to add or remove, as plain text (not quoted).
      - May be empty with O(state=present) to only set O(ttl) on an existing record set.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) makes the values exist (together with any others).
      - V(absent) removes exactly these values.
    type: str
    choices: [present, absent]
    default: present
  ttl:
    description:
      - TTL of the record set with O(state=present), in seconds, from 1 to 2147483647.
        With O(state=absent) the current TTL is kept.
    type: int
    default: 60
  zone_id:
    description:
      - ID of the hosted zone (with or without the C(/hostedzone/) prefix). Needed when
        several zones of the same name exist.
    type: str
  private_zone:
    description:
      - V(true) looks only at private hosted zones, V(false) only at public ones.
      - When not set, public zones are preferred and private zones are used only if no
        public zone contains O(name).
    type: bool
  wait:
    description:
      - Wait until Route53 reports the change C(INSYNC).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait at most with O(wait=true); at least 1.
    type: int
    default: 300
author:
  - autotls.acme maintainers (@autotls)
seealso:
  - name: Route53 TXT record format
    description: How Route53 expects TXT values to be quoted and escaped.
    link: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#TXTFormat
'''

EXAMPLES = r'''
- name: Publish a DNS-01 key authorization digest next to any other values
  autotls.acme.route53_txt:
    name: _acme-challenge.app.example.com
    values:
      - "{{ challenge_value }}"
    ttl: 60

- name: Remove exactly that value again (the record goes when nothing is left)
  autotls.acme.route53_txt:
    name: _acme-challenge.app.example.com
    values:
      - "{{ challenge_value }}"
    state: absent

- name: Use a role in the DNS account and a specific private zone
  autotls.acme.route53_txt:
    name: verify.internal.example.com
    values: [site-verification=abc123]
    zone_id: Z0123456789ABCDEFGHIJ
    private_zone: true
    aws_assume_role_arn: arn:aws:iam::111122223333:role/dns-writer
'''

RETURN = r'''
zone_id:
  description: ID of the hosted zone that holds the record.
  returned: always
  type: str
  sample: Z0123456789ABCDEFGHIJ
record:
  description: The record set after the change (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    name:
      description: Record name, without trailing dot.
      type: str
      sample: _acme-challenge.app.example.com
    type:
      description: Always C(TXT).
      type: str
      sample: TXT
    ttl:
      description: TTL of the record set; null when it does not exist.
      type: int
      sample: 60
    values:
      description: All decoded values of the record set; empty when it does not exist.
      type: list
      elements: str
      sample: [gfj9Xq...Rg85nM]
cleanup_errors:
  description: When the run was stopped, what could not be taken back (each names the record).
  returned: when stopped by SIGTERM or Ctrl-C
  type: list
  elements: str
change_id:
  description: Route53 change ID of the write; null when nothing was written.
  returned: always
  type: str
  sample: /change/C2682N5HXP0BZ4
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import (
    BOTO3_IMPORT_ERROR,
    HAS_BOTO3,
    aws_argument_spec,
    aws_required_together,
    route53_client,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import POSITIVE, TTL_RANGE, check_ranges
from ansible_collections.autotls.acme.plugins.module_utils._common.signals import Terminated, terminate_as_interrupt
from ansible_collections.autotls.acme.plugins.module_utils._dns.route53 import (
    Route53Zones,
    TxtRecords,
    change_txt,
    normalize_name,
)


def _record(name, rrset):
    if rrset is None:
        return dict(name=name, type='TXT', ttl=None, values=[])
    return rrset.as_dict()


def _diff_side(rrset):
    if rrset is None:
        return dict(state='absent')
    return dict(state='present', ttl=rrset.ttl, values=sorted(rrset.values))


def main():
    argument_spec = aws_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        values=dict(type='list', elements='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        ttl=dict(type='int', default=60),
        zone_id=dict(type='str'),
        private_zone=dict(type='bool'),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=300),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_together=aws_required_together(),
                           supports_check_mode=True)
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib('boto3'), exception=BOTO3_IMPORT_ERROR)

    params = module.params
    name = normalize_name(params['name'])
    try:
        check_ranges(params, {'ttl': TTL_RANGE + ('seconds',), 'wait_timeout': POSITIVE + ('seconds',)})
        client = route53_client(params)
        zones = Route53Zones(client)
        records = TxtRecords(client, zones)
        zone = zones.find_zone(name, zone_id=params['zone_id'], private=params['private_zone'])
        # SIGTERM (a job timeout, a container stop) takes back what this run added, like Ctrl-C.
        with terminate_as_interrupt():
            change = change_txt(records, name, zone, params['values'], state=params['state'],
                                ttl=params['ttl'], wait_timeout=params['wait_timeout'] if params['wait'] else None,
                                check_mode=module.check_mode)
    except AutoTLSError as err:
        module.fail_json(msg=err.msg, **err.details)
    except KeyboardInterrupt as interrupt:
        leftovers = getattr(interrupt, 'cleanup_errors', [])
        msg = 'Interrupted (%s) while changing %s' % (interrupt if isinstance(interrupt, Terminated) else 'Ctrl-C', name)
        if params['state'] == 'present':
            msg += '; the values this run added were removed' if not leftovers else (
                '; could not remove the values this run added to %s: %s' % (name, '; '.join(leftovers)))
        module.fail_json(msg=msg, cleanup_errors=leftovers)

    result = dict(changed=change.changed, zone_id=zone.id, record=_record(name, change.after),
                  change_id=change.change_id)
    if module._diff:
        result['diff'] = dict(before=_diff_side(change.before), after=_diff_side(change.after),
                              before_header='%s TXT' % name, after_header='%s TXT' % name)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
