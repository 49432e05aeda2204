"""Fixtures of the ACME unit tests."""

import pytest

from testbed.fake_ca import FakeCA


@pytest.fixture
def fake_ca():
    """A fresh in-process CA (testbed/fake_ca.py): orders, ARI windows, certificates."""
    return FakeCA()
