# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One check of the http(s) URLs users set: the Pushgateway, the Slack webhook and the report link use it."""

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._common.urls import check_http_url
from ansible_collections.autotls.acme.plugins.module_utils._metrics.run import check_url
from ansible_collections.autotls.acme.plugins.module_utils._notify.notify import check_report_url, check_webhook_url

# Not URLs with a host name: each of the three checks refuses them the same way, with a message
# naming the setting, and none of them crashes on a malformed one.
NOT_URLS = ['', 'gw.example.com:9091', 'ftp://gw.example.com/', 'http://:9091', 'http://[::1', 'http://h:port/',
            'https://h.example.com/a b', 'https://h.example.com/\nx']


@pytest.mark.parametrize('url', NOT_URLS)
def test_every_url_setting_refuses_what_is_not_a_url_naming_itself(url):
    for check, option in ((check_url, 'autotls_metrics.pushgateway_url'),
                          (lambda value: check_report_url(value or 'x'), 'report_url'),
                          (check_webhook_url, 'slack.webhook_url')):
        with pytest.raises(ConfigurationError) as info:
            check(url)
        assert info.value.msg.startswith(option + ' must be an http'), (option, info.value.msg)
        assert 'URL with a host name and no blanks' in info.value.msg, (option, info.value.msg)


def test_secrets_are_never_echoed_and_the_rest_is():
    with pytest.raises(ConfigurationError) as info:
        check_webhook_url('ftp://hooks.example.test/services/T0/B0/s3cr3t')
    assert 's3cr3t' not in info.value.msg
    with pytest.raises(ConfigurationError) as info:
        check_report_url('https://b.example.test/r.html?X-Amz-Signature=abc|def')
    assert 'abc' not in info.value.msg and 'nor any of < > |' in info.value.msg
    with pytest.raises(ConfigurationError, match=r"got 'ftp://gw.example.com/'"):
        check_url('ftp://gw.example.com/')
    with pytest.raises(ConfigurationError) as info:
        check_url('https://pusher:s3cret@gw.example.com:9091')
    assert 's3cret' not in info.value.msg and 'give the base URL https://gw.example.com:9091 and set' in info.value.msg
    with pytest.raises(ConfigurationError, match='no query or fragment'):
        check_url('https://gw.example.com/?x=1')
    # Malformed (a port that is not a number) and with a user and password: the password is never echoed.
    for url in ('https://user:s3cret@gw.example.com:90x1/', 'https://user:s3cret@[::1/'):
        with pytest.raises(ConfigurationError) as info:
            check_url(url)
        assert 's3cret' not in info.value.msg and 'user' not in info.value.msg, info.value.msg
        assert 'gw.example.com:90x1' in info.value.msg or '[::1' in info.value.msg, info.value.msg


def test_what_each_check_accepts():
    assert check_http_url('https://h.example.com:8443/p?q=1', 'x').port == 8443
    assert check_url('http://127.0.0.1:9091/') == 'http://127.0.0.1:9091'
    assert check_report_url('https://b.s3.amazonaws.com/r.html?X-Amz-Signature=ab').endswith('=ab')
    assert check_report_url('') is None
    check_webhook_url('https://hooks.slack.com/services/T0/B0/x')
    check_webhook_url('http://127.0.0.1:8080/hook', allow_http=True)
    with pytest.raises(ConfigurationError, match='is an http:// URL'):
        check_webhook_url('http://127.0.0.1:8080/hook')
