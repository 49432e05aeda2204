# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one exception family module_utils raise; modules catch it once in main()."""

from __future__ import annotations


class AutoTLSError(Exception):
    """Base error. ``details`` travel to ``fail_json`` as extra result keys."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self):
        return self.msg


class ConfigurationError(AutoTLSError):
    """Bad input: the message says which option to change."""


class KeyMaterialError(AutoTLSError):
    """A key or certificate could not be read, parsed or generated."""


class AcmeProtocolError(AutoTLSError):
    """The CA answered with a problem document (RFC 8555 section 6.7)."""

    def __init__(self, msg, problem=None, url=None, status=None, **details):
        if problem:
            details['problem'] = problem
        if url:
            details['url'] = url
        if status:
            details['status'] = status
        super().__init__(msg, **details)
        self.problem = problem or {}
        self.url = url
        self.status = status


class AcmeNetworkError(AutoTLSError):
    """The CA could not be reached, or kept failing after retries."""


class DeadlineExceeded(AutoTLSError):
    """A bounded wait ran out; the message says what it was waiting for."""


class DnsProviderError(AutoTLSError):
    """Route53 (or another DNS API) refused or failed a call."""


class PropagationTimeout(DeadlineExceeded):
    """Authoritative name servers did not answer the expected TXT values in time."""
