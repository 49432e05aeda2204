# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import datetime
import os
import stat

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.autotls.acme.plugins.module_utils._x509 import certificates as certs
from ansible_collections.autotls.acme.plugins.module_utils._x509.keys import (
    generate_private_key,
    key_type_of,
    make_csr,
    private_key_to_pem,
)
from ansible_collections.autotls.acme.plugins.module_utils._acme.orders import select_chain


def _cert(subject_cn, issuer_cn, key, signer, names=(), days=90):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days)))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_key_types_round_trip():
    for key_type in ('ec256', 'ec384', 'rsa2048'):
        key = generate_private_key(key_type)
        assert key_type_of(key.public_key()) == key_type


def test_csr_carries_every_name_in_the_san():
    key = generate_private_key('ec256')
    csr = x509.load_pem_x509_csr(make_csr(key, ['*.qa1.example.com', 'qa1.example.com']))
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ['*.qa1.example.com', 'qa1.example.com']


def test_files_are_written_atomically_with_a_private_key_mode(tmp_path):
    ca_key = generate_private_key('ec256')
    leaf_key = generate_private_key('ec256')
    leaf = _cert('a.example.com', 'Test CA', leaf_key, ca_key, ['a.example.com'])
    inter = _cert('Test CA', 'Test Root', ca_key, ca_key)
    files = certs.CertificateFiles(str(tmp_path / 'a'))
    assert files.write(leaf + inter, private_key_to_pem(leaf_key)) is True
    assert stat.S_IMODE(os.stat(files.path(certs.KEY_FILE)).st_mode) == 0o600
    assert open(files.path(certs.CHAIN_FILE), 'rb').read().strip() == inter.strip()
    assert len(certs.split_pem_chain(open(files.path(certs.FULLCHAIN_FILE), 'rb').read())) == 2
    # Same content again: nothing changes, and no temporary file is left behind.
    assert files.write(leaf + inter, private_key_to_pem(leaf_key)) is False
    assert sorted(os.listdir(files.directory)) == ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']
    facts = certs.describe(files.read_certificate())
    assert facts['domains'] == ['a.example.com'] and facts['issuer'] == 'Test CA'
    assert 89 < facts['days_left'] <= 90 and facts['key_type'] == 'ec256'


def test_preferred_chain_is_chosen_by_the_top_issuer():
    k = generate_private_key('ec256')
    leaf = _cert('a', 'Inter', k, k)
    chain_a = leaf + _cert('Inter', 'Root A', k, k)
    chain_b = leaf + _cert('Inter', 'Root B', k, k)
    assert select_chain([chain_a, chain_b], 'Root B') == chain_b
    assert select_chain([chain_a, chain_b], 'Unknown') == chain_a
    assert select_chain([chain_a, chain_b]) == chain_a


def test_new_order_message_carries_replaces_only_when_set():
    from acme import messages
    from ansible_collections.autotls.acme.plugins.module_utils._acme.orders import NewOrderWithReplaces
    ident = [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value='a.example.test')]
    assert NewOrderWithReplaces(identifiers=ident, replaces='abc.def').to_partial_json()['replaces'] == 'abc.def'
    assert 'replaces' not in NewOrderWithReplaces(identifiers=ident).to_partial_json()


def test_a_full_disk_while_writing_the_store_leaves_the_previous_set(tmp_path, monkeypatch):
    """ENOSPC on the third file of a renewal: the old key and certificate stay, and still match."""
    import errno

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from ansible_collections.autotls.acme.plugins.module_utils._common import fileset

    ca_key = generate_private_key('ec256')
    inter = _cert('Test CA', 'Test Root', ca_key, ca_key)
    old_key, new_key = generate_private_key('ec256'), generate_private_key('ec256')
    files = certs.CertificateFiles(str(tmp_path / 'a'))
    files.write(_cert('a', 'Test CA', old_key, ca_key, ['a.example.com']) + inter, private_key_to_pem(old_key))
    before = {name: open(files.path(name), 'rb').read() for name in os.listdir(files.directory)}
    writes = []
    real_write = fileset._write_chunk

    def full_disk(fd, data):
        writes.append(fd)
        if len(writes) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(fileset, '_write_chunk', full_disk)
    try:
        files.write(_cert('a', 'Test CA', new_key, ca_key, ['a.example.com']) + inter, private_key_to_pem(new_key))
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    else:
        raise AssertionError('the full disk went unnoticed')
    assert {name: open(files.path(name), 'rb').read() for name in os.listdir(files.directory)} == before
    key = load_pem_private_key(files.read_key_pem(), None)
    assert files.read_certificate().public_key().public_numbers() == key.public_key().public_numbers()
    assert os.listdir(tmp_path) == ['a']
