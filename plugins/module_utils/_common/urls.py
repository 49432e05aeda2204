# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one check of an http(s) URL a user sets (Pushgateway, Slack webhook, report link).

Standard library only. Refuses, naming the option, what is not an ``http://`` or
``https://`` URL with a host name (a malformed one too: an unclosed ``[``, a port that is
not a number), blanks, and whatever a caller forbids besides; never echoes a URL that is
a secret.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError

HTTP_SCHEMES = ('http', 'https')
_BLANKS = '\r\n\t '


def _host_part(parts):
    return parts.netloc.rpartition('@')[2]


def check_http_url(url, option, example='https://host.example.com', secret=False, forbidden='',
                   credentials_hint=None, query_hint=None, kind='http(s)'):
    """``urlsplit(url)`` when ``url`` is an http(s) URL with a host name; else :class:`ConfigurationError`.

    ``option``: the setting's name, as the message gives it. ``secret``: the URL (a webhook,
    a presigned link) is never shown in the message. ``forbidden``: more characters refused.
    ``credentials_hint``: when set, a user or password in the URL is refused (it would reach
    results and logs) with this hint; the message then shows the URL without them.
    ``query_hint``: when set, a query or fragment is refused with this hint. ``kind``: what the
    message asks for (``https://`` where plain http is only for exceptions the caller allows).
    """
    text = '' if url is None else str(url)
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
        parts.port  # pylint: disable=pointless-statement  # raises ValueError for a port that is not a number
    except ValueError:
        parts, hostname = None, None
    if credentials_hint and parts is not None and '@' in parts.netloc:
        raise ConfigurationError('%s must not hold a user or password (user:password@host): give the base URL '
                                 '%s://%s and %s' % (option, parts.scheme or 'https', _host_part(parts),
                                                     credentials_hint))
    if parts is None or parts.scheme not in HTTP_SCHEMES or not hostname \
            or any(char in text for char in _BLANKS + forbidden):
        refused = ''.join(sorted(set(forbidden)))
        raise ConfigurationError('%s must be an %s URL with a host name and no blanks%s, such as %s%s' % (
            option, kind, ' nor any of %s' % ' '.join(refused) if refused else '', example,
            '' if secret else ', got %r' % (_without_userinfo(text),)))
    if query_hint and (parts.query or parts.fragment):
        raise ConfigurationError('%s must have no query or fragment: %s' % (option, query_hint))
    return parts


def _without_userinfo(text):
    """``text`` with whatever stands before an ``@`` in its authority (user:password) left out."""
    return re.sub(r'^([^:/?#]*://)?[^/?#]*@', lambda m: (m.group(1) or '') + '...@', text)
