"""Test-suite wiring: makes the repository importable and runnable as autotls.acme.

The repository root is the collection root. Ansible finds collections only under an
``ansible_collections/<namespace>/<name>`` path, so a link to the checkout is made in
a private directory, added to ``sys.path`` (unit tests import module_utils) and exported
as ``ANSIBLE_COLLECTIONS_PATH`` (integration tests run ``ansible-playbook``).
"""

import os
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_root():
    base = os.path.join(tempfile.gettempdir(), 'autotls-collections-%d' % os.getuid())
    ns_dir = os.path.join(base, 'ansible_collections', 'autotls')
    os.makedirs(ns_dir, exist_ok=True)
    link = os.path.join(ns_dir, 'acme')
    if os.path.realpath(link) != REPO_ROOT:
        tmp_link = link + '.%d' % os.getpid()
        os.symlink(REPO_ROOT, tmp_link)
        os.replace(tmp_link, link)
    return base


COLLECTIONS_ROOT = _collection_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
os.environ['ANSIBLE_COLLECTIONS_PATH'] = COLLECTIONS_ROOT
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests'))

pytest_plugins = ['testbed.fixtures', 'testbed.fixtures_stepca', 'testbed.fixtures_hosts']
