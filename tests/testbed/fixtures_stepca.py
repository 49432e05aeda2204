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
