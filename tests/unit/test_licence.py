# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every source file says under which licence it is, near its top, the way galaxy.yml and
LICENSE say it: GPL-3.0-or-later, with the SPDX identifier tools read."""

import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPDX = 'SPDX-License-Identifier: GPL-3.0-or-later'
SOURCES = ('*.py', '*.yml', '*.yaml', '*.sh', '*.j2')
# Changelog fragments are folded into CHANGELOG.rst and deleted at release time; the
# changelog's data and plugin cache are written by antsibull-changelog.
NOT_SOURCES = ('changelogs/fragments/', 'changelogs/changelog.yaml', 'changelogs/.plugin-cache.yaml')
HEADER = """Add these lines near the top (after a shebang, coding line or '---'; in a Jinja
template as one {#- ... -#} comment):
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later"""


def _sources():
    try:
        out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '--'] + list(SOURCES),
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.fail('git cannot list the files of %s' % REPO)
    return [name for name in out.split('\n') if name and not name.startswith(NOT_SOURCES)
            and os.path.exists(os.path.join(REPO, name))]


def test_licence_file_is_the_gpl_v3():
    with open(os.path.join(REPO, 'LICENSE'), encoding='utf-8') as handle:
        text = handle.read()
    assert 'GNU GENERAL PUBLIC LICENSE' in text and 'Version 3, 29 June 2007' in text


def test_every_source_file_names_its_licence():
    sources = _sources()
    assert len(sources) > 100, sources
    missing = []
    for name in sources:
        with open(os.path.join(REPO, name), encoding='utf-8') as handle:
            top = ''.join(handle.readline() for line_number in range(8))
        if SPDX not in top:
            missing.append(name)
    assert not missing, 'no licence header in:\n  %s\n%s' % ('\n  '.join(missing), HEADER)
