# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's metrics file: its text, its path and mode rules, atomic writes (no network)."""

import os
import stat

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._metrics import exposition, textfile

SERVED = dict(certificate='app1', server_name='app1.example.test', port=443, reachable=True, serial='3FA2C1',
              issuer='Pebble "Intermediate"\nCA', not_before='2027-01-01T00:00:00Z',
              not_after='2027-04-01T00:00:00Z', renew_at='2027-03-02T00:00:00Z', store_serial='3fa2c1')
LABELS = 'certificate="app1",port="443",server_name="app1.example.test"'


def test_the_text_carries_each_fact_once_with_escaped_labels():
    stale = dict(SERVED, certificate='old', store_serial='beef')
    down = dict(certificate='gone', server_name='gone.example.test', port='8443', reachable=False)
    text = textfile.render_textfile([SERVED, stale, down])
    lines = text.splitlines()
    assert lines[0].startswith('# Written by autotls.acme')
    assert 'autotls_certificate_not_after_timestamp_seconds{%s} 1806537600' % LABELS in lines
    assert 'autotls_certificate_not_before_timestamp_seconds{%s} 1798761600' % LABELS in lines
    assert 'autotls_certificate_renewal_window_start_timestamp_seconds{%s} 1803945600' % LABELS in lines
    assert 'autotls_certificate_served_matches_store{%s} 1' % LABELS in lines
    assert 'autotls_certificate_served_matches_store{%s} 0' % LABELS.replace('app1"', 'old"', 1) in lines
    assert ('autotls_certificate_info{certificate="app1",issuer="Pebble \\"Intermediate\\"\\nCA",port="443",'
            'serial="3fa2c1",server_name="app1.example.test",store_serial="3fa2c1"} 1') in lines
    # An endpoint that did not answer is only "down": no stale dates for it.
    assert 'autotls_certificate_endpoint_up{certificate="gone",port="8443",server_name="gone.example.test"} 0' in lines
    assert not [line for line in lines if 'gone' in line and 'endpoint_up' not in line]
    # Each family once, HELP then TYPE gauge.
    types = [line for line in lines if line.startswith('# TYPE ')]
    assert len(types) == len(set(types)) == 6 and all(t.endswith(' gauge') for t in types)
    assert text.endswith('\n')


def test_no_match_metric_without_a_store_serial_and_nothing_for_no_certificates():
    text = textfile.render_textfile([dict(SERVED, store_serial='')])
    assert 'served_matches_store' not in text and 'store_serial=""' in text
    assert textfile.render_textfile([]) == textfile.HEADER


@pytest.mark.parametrize('bad, message', [
    ({'server_name': 'x'}, 'certificate name'),
    (dict(SERVED, port='https'), 'port number'),
    (dict(SERVED, port=0), 'from 1 to 65535'),
    (dict(SERVED, not_after='Apr 1 2027'), '2027-02-20T10:00:00Z'),
])
def test_bad_entries_are_refused_naming_them(bad, message):
    with pytest.raises(ConfigurationError, match=message):
        textfile.render_textfile([bad])


def test_the_same_endpoint_twice_is_refused():
    with pytest.raises(ConfigurationError, match='listed twice'):
        textfile.render_textfile([SERVED, SERVED])


def test_values_and_names_follow_the_format():
    assert exposition.format_value(True) == '1'
    assert exposition.format_value(1.5) == '1.5'
    assert exposition.format_value(float('inf')) == '+Inf'
    assert exposition.format_value(float('nan')) == 'NaN'
    assert exposition.format_value(1806537600.0) == '1806537600'
    with pytest.raises(ConfigurationError, match='metric name'):
        exposition.Family('autotls-x', 'x')
    with pytest.raises(ConfigurationError, match='label name'):
        exposition.Family('autotls_x', 'x').add(1, __name__='y')
    with pytest.raises(ConfigurationError, match='listed twice'):
        exposition.render([exposition.Family('a', 'x').add(1), exposition.Family('a', 'y').add(2)])


def test_written_atomically_at_its_mode_and_only_when_changed(tmp_path):
    path = str(tmp_path / 'autotls.prom')
    text = textfile.render_textfile([SERVED])
    assert textfile.write_textfile(path, text, '0640') is True
    assert open(path).read() == text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    inode = os.stat(path).st_ino
    assert textfile.write_textfile(path, text, '0640') is False
    assert os.stat(path).st_ino == inode
    # Check mode reports the change and writes nothing.
    other = textfile.render_textfile([dict(SERVED, serial='aa')])
    assert textfile.write_textfile(path, other, '0640', check_mode=True) is True
    assert open(path).read() == text
    assert textfile.write_textfile(path, other, '0644') is True
    assert os.stat(path).st_ino != inode and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(os.listdir(str(tmp_path))) == ['autotls.prom']   # no temporary file left
    assert textfile.remove_textfile(path) is True and not os.path.exists(path)
    assert textfile.remove_textfile(path) is False


@pytest.mark.parametrize('name, message', [
    ('autotls.txt', 'ending in .prom'),
    ('.autotls.prom', 'ending in .prom'),
    ('relative', 'must be absolute'),
])
def test_paths_node_exporter_would_not_read_are_refused(tmp_path, name, message):
    path = name if name == 'relative' else str(tmp_path / name)
    with pytest.raises(ConfigurationError, match=message):
        textfile.write_textfile(path, '', '0644')


def test_a_missing_directory_a_link_and_a_writable_mode_are_refused(tmp_path):
    with pytest.raises(textfile.TextfileError, match='textfile_dir'):
        textfile.write_textfile(str(tmp_path / 'nope' / 'autotls.prom'), '', '0644')
    os.symlink('/etc/passwd', str(tmp_path / 'autotls.prom'))
    with pytest.raises(textfile.TextfileError, match='not a regular file'):
        textfile.write_textfile(str(tmp_path / 'autotls.prom'), 'x\n', '0644')
    assert os.path.islink(str(tmp_path / 'autotls.prom'))
    with pytest.raises(ConfigurationError, match='other users write'):
        textfile.write_textfile(str(tmp_path / 'b.prom'), '', '0664')
    with pytest.raises(ConfigurationError, match='quote it'):
        textfile.write_textfile(str(tmp_path / 'b.prom'), '', 644)
