# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the ACME unit tests."""

import pytest

from testbed.fake_ca import FakeCA


@pytest.fixture
def fake_ca():
    """A fresh in-process CA (testbed/fake_ca.py): orders, ARI windows, certificates."""
    return FakeCA()
