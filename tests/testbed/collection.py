# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checkout as the collection autotls.acme, where Ansible looks for collections.

Ansible finds a collection only under ``ansible_collections/<namespace>/<name>``; the
repository root is the collection root, so a link to the checkout is made in a private
directory. Each checkout gets a directory of its own (named after its path): a benchmark
running from one clone must not see its link re-pointed by a test run in another.
"""

import hashlib
import os
import tempfile


def link_collection(repo_root):
    """Link repo_root as <base>/ansible_collections/autotls/acme; returns <base>."""
    repo_root = os.path.realpath(repo_root)
    tag = hashlib.sha256(repo_root.encode()).hexdigest()[:12]
    base = os.path.join(tempfile.gettempdir(), 'autotls-collections-%d' % os.getuid(), tag)
    ns_dir = os.path.join(base, 'ansible_collections', 'autotls')
    os.makedirs(ns_dir, exist_ok=True)
    link = os.path.join(ns_dir, 'acme')
    if os.path.realpath(link) != repo_root:
        tmp_link = link + '.%d' % os.getpid()
        os.symlink(repo_root, tmp_link)
        os.replace(tmp_link, link)
    return base
