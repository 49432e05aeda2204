# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Kept in step with issuer_options() in plugins/module_utils/_acme/session.py and the
    # issuer model (plugins/module_utils/_model/issuers.py). A module's own description of
    # O(issuers) replaces the one here; the suboptions stay. Modules that take it document
    # O(acme_directory) as not required.
    DOCUMENTATION = r'''
options:
  issuers:
    description:
      - The CAs, in order, as C(autotls_issuers) has them, instead of O(acme_directory) and its options (which mean a
        list of one). One of the two is required.
      - O(account_email) and O(terms_agreed) apply to every issuer that does not set its own.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the issuer in results and reports; by default the directory's alias or host name.
        type: str
      directory:
        description: The CA's ACME directory URL, or an alias (C(letsencrypt), C(letsencrypt_staging), C(zerossl)).
        type: str
        required: true
      account_key_src:
        description: Path of the account key at this CA; a new P-256 key is written there (0600) when missing.
        type: path
      account_key_content:
        description: The account key as PEM text (one of this and O(issuers[].account_key_src) is required).
        type: str
      account_key_passphrase:
        description: Passphrase of an encrypted account key.
        type: str
      account_key_pending:
        description:
          - Where an account key rollover (M(autotls.acme.account), C(playbooks/account.yml)) keeps this issuer's new
            key until it is in place; the playbooks set it in the store (C(<account_key_src>.new), or
            C(<store>/account.pem.pending) and C(<store>/account-<name>.pem.pending) for a key given as content).
          - While a key is there that is not this issuer's account key, nothing is ordered or revoked with this
            issuer - with the old key the CA would open a new, separate account. M(autotls.acme.certificate) orders its
            certificates from the next issuer (each reports it moved, the reason naming the file and what to update),
            or fails them with that reason when no issuer is left; the other issuers order as ever.
            M(autotls.acme.revoke) refuses when this issuer issued the certificate.
        type: path
      account_email:
        description: Contact address of the account.
        type: str
      terms_agreed:
        description: Agree to the CA's terms of service.
        type: bool
      eab_kid:
        description: External Account Binding key identifier.
        type: str
      eab_hmac_key:
        description: External Account Binding HMAC key (base64url).
        type: str
      eab_alg:
        description: MAC algorithm for External Account Binding.
        type: str
        choices: [HS256, HS384, HS512]
      ca_bundle:
        description: PEM file of the CA certificates that verify this CA's HTTPS endpoint.
        type: path
      fingerprint:
        description: SHA-256 fingerprint of a private CA's root (used by the playbooks to bootstrap O(issuers[].ca_bundle)).
        type: str
      ca_url:
        description: Base URL of a private CA for its roots (used by the playbooks).
        type: str
      profile:
        description: ACME profile to request from this CA for certificates that set none; overrides the module's own C(profile) option, where it has one.
        type: str
'''
