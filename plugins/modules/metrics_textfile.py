#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: metrics_textfile
short_description: Write a host's certificate metrics for node_exporter's textfile collector
version_added: 0.1.0
description:
  - Renders, on the host, the Prometheus metrics of the certificates it serves - not before, not after, the start
    of the renewal window, serial and issuer (labels of an info metric), whether the served certificate is the
    store's - and writes them to O(path), a C(*.prom) file in the directory node_exporter's textfile collector
    reads (C(--collector.textfile.directory)). The metric names are listed in the collection's C(docs/metrics.md).
  - The file is written atomically (a dot-file in the same directory renamed over the old one; the collector reads
    only C(*.prom) files, so it never sees half a file) and only when its content or mode changes. It carries no
    timestamp of its own, so a run that finds nothing new changes nothing.
  - Only the Python standard library is needed on the host.
  - The playbooks C(renew.yml) and C(check.yml) run it on the hosts that set C(autotls_metrics.textfile_dir), with
    what C(autotls.acme.served_certificates) made of M(autotls.acme.cert_info)'s results.
author:
  - autotls.acme maintainers (@autotls)
attributes:
  check_mode:
    support: full
    description: Reports whether the file would change; writes nothing.
  diff_mode:
    support: none
    description: No diff is shown.
  idempotent:
    support: full
    description: The same certificates give the same file, which is not written again.
options:
  path:
    description:
      - Absolute path of the metrics file, ending in C(.prom). Its directory must exist (the node_exporter package
        makes it; Debian's is C(/var/lib/prometheus/node-exporter)).
      - An existing link or directory at O(path) is refused.
    type: path
    required: true
  state:
    description:
      - V(present) writes the file, V(absent) removes it (a host that serves no certificate any more).
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - Mode of the file, a quoted octal string. Nobody but the owner may write it (the metrics could be forged),
        and node_exporter's user must be able to read it.
    type: str
    default: "0644"
  certificates:
    description:
      - One entry per certificate and endpoint the host serves.
    type: list
    elements: dict
    default: []
    suboptions:
      certificate:
        description: The certificate's name, as declared.
        type: str
        required: true
      server_name:
        description: The name (SNI) the host was asked for.
        type: str
      port:
        description: The TLS port.
        type: int
        default: 443
      reachable:
        description: Whether the host answered with a certificate; without it only C(autotls_certificate_endpoint_up 0) is written.
        type: bool
        default: false
      serial:
        description: Serial number of the served certificate, hexadecimal.
        type: str
      issuer:
        description: Issuer's common name of the served certificate.
        type: str
      not_before:
        description: Start of validity, C(YYYY-MM-DDTHH:MM:SSZ).
        type: str
      not_after:
        description: End of validity, C(YYYY-MM-DDTHH:MM:SSZ).
        type: str
      renew_at:
        description: Start of the renewal window, C(YYYY-MM-DDTHH:MM:SSZ).
        type: str
      store_serial:
        description: Serial of the store's certificate of that name; empty when unknown (no match metric then).
        type: str
seealso:
  - module: autotls.acme.cert_info
'''

EXAMPLES = r'''
- name: Write the host's certificate metrics for node_exporter
  autotls.acme.metrics_textfile:
    path: /var/lib/prometheus/node-exporter/autotls.prom
    certificates:
      - certificate: app1
        server_name: app1.example.com
        port: 443
        reachable: true
        serial: 3fa2c1
        issuer: R11
        not_before: "2027-01-01T00:00:00Z"
        not_after: "2027-04-01T00:00:00Z"
        renew_at: "2027-03-02T00:00:00Z"
        store_serial: 3fa2c1
'''

RETURN = r'''
path:
  description: The metrics file.
  returned: always
  type: str
  sample: /var/lib/prometheus/node-exporter/autotls.prom
certificates:
  description: How many certificate entries the file describes.
  returned: always
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import AutoTLSError
from ansible_collections.autotls.acme.plugins.module_utils._metrics.textfile import (
    DEFAULT_MODE,
    remove_textfile,
    render_textfile,
    write_textfile,
)


def argument_spec():
    return dict(
        path=dict(type='path', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        mode=dict(type='str', default=DEFAULT_MODE),
        certificates=dict(type='list', elements='dict', default=[], options=dict(
            certificate=dict(type='str', required=True),
            server_name=dict(type='str'),
            port=dict(type='int', default=443),
            reachable=dict(type='bool', default=False),
            serial=dict(type='str'),
            issuer=dict(type='str'),
            not_before=dict(type='str'),
            not_after=dict(type='str'),
            renew_at=dict(type='str'),
            store_serial=dict(type='str'),
        )),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        if params['state'] == 'absent':
            changed = remove_textfile(params['path'], module.check_mode)
        else:
            changed = write_textfile(params['path'], render_textfile(params['certificates']), params['mode'],
                                     module.check_mode)
    except AutoTLSError as exc:
        module.fail_json(msg=str(exc), path=params['path'], **exc.details)
    module.exit_json(changed=changed, path=params['path'],
                     certificates=len(params['certificates']) if params['state'] == 'present' else 0)


if __name__ == '__main__':
    main()
