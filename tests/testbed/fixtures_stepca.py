# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest fixture for a step-ca on the session test bed's DNS server.

The first use in a process builds step-ca when the cache has none yet (about a minute
once per machine, then cached by scripts/build-step-ca.sh).
"""

import pytest

from .stepca import StepCA


@pytest.fixture(scope='session')
def stepca(testbed, tmp_path_factory):
    """A started StepCA (ACME provisioner `acme`, 24 h certificates) resolving names
    through `testbed.dns`; stopped at the end of the session."""
    with StepCA(testbed.dns.address, tmp_path_factory.mktemp('stepca')) as ca:
        yield ca
