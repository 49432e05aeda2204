# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The declared certificate, in one place (see each file):

- ``names``: the certificate name rule (``validate_name``, ``is_valid_name``);
- ``domains``: DNS names (``normalize_domains``, ``normalize_domain``);
- ``modes``: file modes, quoted octal strings (``parse_mode``, ``normalize_mode``);
- ``layout``: the four files of a certificate (``CERTIFICATE_FILES``, ``file_path``);
- ``certificate``: one entry and its key groups (``validate_declared_certificate(entry, where)``,
  ``issuance_subset``, ``deploy_subset``, ``server_subset``);
- ``inventory``: host-over-group precedence and gathering across hosts
  (``host_certificates``, ``gather_certificates``).

``names``, ``modes`` and ``layout`` use the standard library only (they also run on hosts).
"""
