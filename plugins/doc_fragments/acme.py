# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Kept in step with acme_argument_spec() in plugins/module_utils/_acme/session.py.
    DOCUMENTATION = r'''
options:
  acme_directory:
    description:
      - URL of the CA's ACME directory, for example C(https://ca.internal:9443/acme/acme/directory).
      - Or one of the aliases C(letsencrypt), C(letsencrypt_staging), C(zerossl).
    type: str
    required: true
  acme_ca_bundle:
    description:
      - PEM file of the CA certificates that verify the ACME server's own HTTPS endpoint.
      - Use it for a private CA (step-ca) whose endpoint is not signed by a public root,
        typically the root fetched and checked by M(autotls.acme.ca_roots).
    type: path
  validate_certs:
    description:
      - Verify the ACME server's HTTPS certificate. Prefer O(acme_ca_bundle) to turning this off.
    type: bool
    default: true
  account_key_src:
    description:
      - Path of the ACME account private key (PEM, EC or RSA).
      - When the file does not exist, a new P-256 key is written there with mode 0600.
      - Mutually exclusive with O(account_key_content); one of them is required.
    type: path
  account_key_content:
    description:
      - The ACME account private key as PEM text, for example from Ansible Vault or an AWX credential.
    type: str
  account_key_passphrase:
    description:
      - Passphrase of an encrypted account key.
    type: str
  account_email:
    description:
      - Contact address registered with the account; the CA sends expiry and policy mail there.
    type: str
  terms_agreed:
    description:
      - Agree to the CA's terms of service when the account is created. Required by CAs that publish terms.
    type: bool
    default: false
  eab_kid:
    description:
      - External Account Binding key identifier, given by CAs that require EAB (ZeroSSL, many private CAs).
    type: str
  eab_hmac_key:
    description:
      - External Account Binding HMAC key (base64url), given with O(eab_kid).
    type: str
  eab_alg:
    description:
      - MAC algorithm for External Account Binding.
    type: str
    default: HS256
    choices: [HS256, HS384, HS512]
  request_timeout:
    description:
      - Seconds to wait for one HTTP answer from the CA. Retries and overall deadlines come on top.
    type: int
    default: 30
'''

    # Modules of the acme action group document it with this fragment as well, so that
    # module_defaults: {group/autotls.acme.acme: ...} is listed on their pages.
    ACTIONGROUP_ACME = r'''
attributes:
  action_group:
    description: Use C(group/autotls.acme.acme) in C(module_defaults) to set the ACME account and CA options once for every module of the group.
    support: full
    membership:
      - autotls.acme.acme
'''
