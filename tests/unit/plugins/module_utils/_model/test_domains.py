# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._model.domains import normalize_domain, normalize_domains

INJECTION = 'shop.example.test evil.example.test; location /leak/ { alias /etc/autotls/certs/; autoindex on; } #'


@pytest.mark.parametrize('value, expected', [
    ('app1.example.com', 'app1.example.com'),
    ('App1.Example.COM.', 'app1.example.com'),
    ('*.qa1.example.com', '*.qa1.example.com'),
    ('localhost', 'localhost'),
    ('a-b.x1', 'a-b.x1'),
    ('xn--bcher-kva.example', 'xn--bcher-kva.example'),
    ('bücher.example', 'xn--bcher-kva.example'),
    ('Bücher.Example.', 'xn--bcher-kva.example'),
    ('*.bücher.example', '*.xn--bcher-kva.example'),
    ('a' * 63 + '.example', 'a' * 63 + '.example'),
])
def test_good_names_are_normalised(value, expected):
    assert normalize_domain(value, 'app1', 'dns-01') == expected
    assert normalize_domain(expected, 'app1', 'dns-01') == expected  # idempotent


@pytest.mark.parametrize('value, words', [
    (INJECTION, 'white space'),
    ('has space.example.com', 'white space'),
    (' app1.example.com', 'white space'),
    ('app1.example.com\n', 'white space'),
    ('', 'empty'),
    ('.', 'empty'),
    ('foo.*.example.com', 'not the whole leftmost label'),
    ('*foo.example.com', 'not the whole leftmost label'),
    ('**.example.com', 'not the whole leftmost label'),
    ('*', 'not the whole leftmost label'),
    ('a' * 70 + '.example.com', 'label of 70 characters'),
    ('a..example.com', 'empty label'),
    ('.example.com', 'empty label'),
    ('-a.example.com', 'hyphen'),
    ('a-.example.com', 'hyphen'),
    ('a_b.example.com', 'other than a letter, digit or hyphen'),
    ('a;b.example.com', 'other than a letter, digit or hyphen'),
    ('a{b}.example.com', 'other than a letter, digit or hyphen'),
    ('127.0.0.1', 'IP addresses'),
    ('.'.join(['a' * 60] * 5), 'at most 253'),
    ('xn--zz.example', 'not a valid internationalised name'),
])
def test_bad_names_are_refused_naming_certificate_and_value(value, words):
    with pytest.raises(ConfigurationError) as err:
        normalize_domain(value, 'shop', 'dns-01')
    message = str(err.value)
    assert message.startswith("Certificate 'shop': ")
    assert words in message
    if value:
        assert repr(value) in message


def test_invalid_unicode_is_refused_saying_idna():
    with pytest.raises(ConfigurationError, match="not a valid internationalised name .IDNA 2008"):
        normalize_domain('a\u200db.example', 'shop')   # a zero-width joiner: not allowed there


def test_a_wildcard_needs_dns01():
    assert normalize_domain('*.qa1.example.com', 'qa1', 'dns-01') == '*.qa1.example.com'
    with pytest.raises(ConfigurationError, match=r"Certificate 'qa1': \*\.qa1\.example\.com is a wildcard, "
                                                 "which HTTP-01 cannot prove; use challenge: dns-01"):
        normalize_domain('*.qa1.example.com', 'qa1', 'http-01')


def test_a_string_is_not_a_list():
    with pytest.raises(ConfigurationError) as err:
        normalize_domains('shop.example.test,evil.example.test', 'shop')
    assert str(err.value) == ("Certificate 'shop': domains must be a list, e.g. [a.example.com], not the string "
                              "'shop.example.test,evil.example.test'.")


@pytest.mark.parametrize('value', [[], None, {'a': 1}, 5])
def test_empty_or_not_a_list(value):
    with pytest.raises(ConfigurationError, match="Certificate 'shop': domains (is empty|must be a list)"):
        normalize_domains(value, 'shop')


def test_a_non_string_item():
    with pytest.raises(ConfigurationError, match="domain 5 is not a string"):
        normalize_domains(['a.example.com', 5], 'shop')


def test_list_is_normalised_and_deduplicated_in_order():
    assert normalize_domains(['B.example.com', 'a.example.com', 'b.example.com.'], 'x') == [
        'b.example.com', 'a.example.com']
