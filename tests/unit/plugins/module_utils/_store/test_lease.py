# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The store's lease: local (flock + record) and S3 (conditional writes against a real moto server)."""

import json
import os
import threading

import pytest

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._store import lease as lease_mod
from ansible_collections.autotls.acme.plugins.module_utils._store.lease import (
    LEASE_NAME,
    Lease,
    LeaseHeld,
    LeaseLost,
    LocalLeaseBackend,
    S3LeaseBackend,
    check_timing,
    default_holder,
    parse_record,
)
from ansible_collections.autotls.acme.plugins.module_utils._store.store import s3_client, sync

BUCKET = 'autotls-lease-unit'


class Clock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self, start=1_800_000_000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def _lease(backend, holder, clock, duration=600):
    return Lease(backend, holder, duration=duration, clock=clock, sleep=clock.sleep, poll_interval=5)


def _record(path):
    with open(os.path.join(path, LEASE_NAME), 'rb') as handle:
        return json.loads(handle.read())


# ---------------------------------------------------------------- the logic, on a local store

def test_second_issuer_waits_then_stops_naming_the_holder(tmp_path):
    clock = Clock()
    store = str(tmp_path / 'store')
    first = _lease(LocalLeaseBackend(store), 'AWX job 41', clock)
    record, info = first.acquire(wait=0)
    assert info == dict(waited=0, took_over=None)
    assert _record(store)['holder'] == 'AWX job 41' and _record(store)['id'] == record['id']
    assert record['expires'] == lease_mod.iso(clock.now + 600)
    assert oct(os.stat(os.path.join(store, LEASE_NAME)).st_mode & 0o777) == '0o600'

    second = _lease(LocalLeaseBackend(store), 'AWX job 42', clock)
    with pytest.raises(LeaseHeld) as info:
        second.acquire(wait=30)
    message = info.value.msg
    assert message.startswith('The store is leased to AWX job 41 until %s (in 570 s)' % record['expires'])
    assert 'Waited 30 s' in message and 'remove %s' % os.path.join(store, LEASE_NAME) in message
    assert info.value.details['holder'] == 'AWX job 41' and info.value.details['expires'] == record['expires']
    assert sum(clock.sleeps) == 30 and max(clock.sleeps) <= 5
    assert _record(store)['id'] == record['id']     # untouched

    # The holder releases: the waiter gets it on its next poll.
    assert first.release(record['id']) == (True, '')
    assert not os.path.exists(os.path.join(store, LEASE_NAME))
    taken, info = second.acquire(wait=30)
    assert taken['holder'] == 'AWX job 42' and info['took_over'] is None


def test_an_ended_lease_is_taken_over_and_its_holder_learns_it(tmp_path):
    clock = Clock()
    store = str(tmp_path / 'store')
    crashed = _lease(LocalLeaseBackend(store), 'AWX job 41', clock)
    old, _info = crashed.acquire(wait=0)
    # Within the wait, the crashed holder's lease ends: the waiter takes it over.
    clock.now += 590
    waiter = _lease(LocalLeaseBackend(store), 'AWX job 42', clock)
    new, info = waiter.acquire(wait=60)
    assert info['took_over']['holder'] == 'AWX job 41' and 10 <= info['waited'] <= 11
    assert new['id'] != old['id'] and _record(store)['holder'] == 'AWX job 42'
    # The old holder can neither renew, nor release, nor push under it.
    with pytest.raises(LeaseLost, match='it ended and AWX job 42 took it'):
        crashed.renew(old['id'])
    released, note = crashed.release(old['id'])
    assert released is False and 'now held by AWX job 42' in note
    assert _record(store)['id'] == new['id']


def test_renewal_moves_the_end_and_keeps_the_id(tmp_path):
    clock = Clock()
    store = str(tmp_path / 'store')
    lease = _lease(LocalLeaseBackend(store), 'me', clock)
    record, _info = lease.acquire(wait=0)
    clock.now += 500
    renewed = lease.renew(record['id'])
    assert renewed['id'] == record['id'] and renewed['acquired'] == record['acquired']
    assert renewed['expires'] == lease_mod.iso(clock.now + 600)
    # Check mode writes nothing.
    clock.now += 10
    assert lease.renew(record['id'], check_mode=True)['expires'] == lease_mod.iso(clock.now + 600)
    assert _record(store)['expires'] == renewed['expires']
    # An empty id releases nothing; a wrong one neither.
    assert lease.release('') == (False, 'no lease to release (none was acquired)')
    assert lease.release('0' * 32)[0] is False
    assert os.path.exists(os.path.join(store, LEASE_NAME))
    assert lease.release(record['id']) == (True, '')
    with pytest.raises(LeaseLost, match='released or removed'):
        lease.renew(record['id'])


def test_an_unreadable_record_counts_as_ended(tmp_path):
    store = tmp_path / 'store'
    store.mkdir()
    (store / LEASE_NAME).write_bytes(b'{not json')
    record, info = _lease(LocalLeaseBackend(str(store)), 'me', Clock()).acquire(wait=0)
    assert info['took_over'] is None and _record(str(store))['id'] == record['id']
    assert parse_record(b'[]') is None and parse_record(b'{"id": "x", "expires_epoch": true}') is None


def test_holder_and_timing_validation(monkeypatch):
    assert default_holder({'JOB_ID': '4711', 'AWX_HOST': 'https://awx.example.com'}) == \
        'AWX job 4711 on https://awx.example.com'
    assert default_holder({'JOB_ID': '4711'}) == 'AWX job 4711'
    local = default_holder({})
    assert '@' in local and local.rsplit(':', 1)[1].isdigit()
    check_timing(60, 0)
    for duration, wait, match in ((59, 0, 'lease_duration must be .* not 59'), (True, 0, 'lease_duration'),
                                  (3600, -1, 'lease_wait must be .* not -1'), (3600, 86401, 'lease_wait')):
        with pytest.raises(ConfigurationError, match=match):
            check_timing(duration, wait)


def test_module_states_on_a_local_store(tmp_path):
    store = str(tmp_path / 'store')
    params = dict(store=dict(type='local', path=store), lease_holder='job A', lease_duration=600, lease_wait=0)
    # Check mode takes nothing, creates nothing.
    checked = sync(params, 'acquired', check_mode=True)
    assert checked['changed'] is True and not os.path.exists(store)
    acquired = sync(params, 'acquired')
    lease_id = acquired['lease']['id']
    assert acquired['changed'] is True and acquired['lease']['holder'] == 'job A' and acquired['waited'] == 0
    assert acquired['lease']['store'] == store and acquired['took_over'] == {}
    other = dict(params, lease_holder='job B')
    held = sync(other, 'acquired', check_mode=True)
    assert held['changed'] is False and 'id' not in held['lease'] and held['lease']['holder'] == 'job A'
    with pytest.raises(LeaseHeld, match='leased to job A until'):
        sync(other, 'acquired')
    # The push renews the lease before it writes the manifest; with a lost lease it writes nothing.
    pushed = sync(dict(params, lease_id=lease_id), 'pushed')
    assert pushed['lease']['id'] == lease_id and pushed['lease']['renewed'] >= acquired['lease']['renewed']
    with pytest.raises(LeaseLost):
        sync(dict(other, lease_id='f' * 32), 'pushed')
    assert sync(dict(other, lease_id=''), 'released') == dict(
        changed=False, released=False, pulled=[], pushed=[], skipped=[], working_copy=store, type='local',
        warnings=['Nothing released: no lease to release (none was acquired)'])
    assert sync(dict(params, lease_id=lease_id), 'released')['released'] is True
    assert sync(other, 'acquired')['lease']['holder'] == 'job B'


# ---------------------------------------------------------------- S3, against moto

@pytest.fixture
def s3_backend(moto, aws_options):
    moto.client('s3').create_bucket(Bucket=BUCKET)
    return lambda: S3LeaseBackend(s3_client(aws_options), BUCKET, 'prod/')


def test_s3_lease_is_created_only_when_there_is_none(s3_backend, moto):
    clock = Clock()
    first = _lease(s3_backend(), 'AWX job 41', clock)
    record, _info = first.acquire(wait=0)
    admin = moto.client('s3')
    stored = json.loads(admin.get_object(Bucket=BUCKET, Key='prod/' + LEASE_NAME)['Body'].read())
    assert stored['id'] == record['id'] and stored['holder'] == 'AWX job 41'
    with pytest.raises(LeaseHeld) as info:
        _lease(s3_backend(), 'AWX job 42', clock).acquire(wait=10)
    assert 'leased to AWX job 41' in info.value.msg
    assert 'delete the object s3://%s/prod/%s' % (BUCKET, LEASE_NAME) in info.value.msg
    # Renew and release go through If-Match on the ETag read.
    first.renew(record['id'])
    assert first.release(record['id']) == (True, '')
    assert 'Contents' not in admin.list_objects_v2(Bucket=BUCKET)


def test_s3_two_takers_of_an_ended_lease_get_one_lease(s3_backend, moto):
    """Both read the same ended lease; the conditional overwrite lets exactly one of them in."""
    clock = Clock()
    crashed, _info = _lease(s3_backend(), 'AWX job 40', clock).acquire(wait=0)
    clock.now += 700
    barrier = threading.Barrier(2)
    first_done = threading.Event()
    outcomes = {}

    class RacingBackend(S3LeaseBackend):
        """Both read the ended lease before either writes; B writes after A (moto itself is not atomic)."""
        reads = 0
        name = None

        def read(self):
            found = super().read()
            self.reads += 1
            if self.reads == 1:
                barrier.wait(timeout=10)
            return found

        def replace(self, record, token):
            if self.name == 'taker B':
                first_done.wait(timeout=10)
            try:
                return super().replace(record, token)
            finally:
                first_done.set()

    def take(name):
        backend = s3_backend()
        backend.__class__ = RacingBackend
        backend.name = name
        try:
            outcomes[name] = _lease(backend, name, clock).acquire(wait=0)[0]['holder']
        except LeaseHeld as exc:   # the loser read again and found the winner's live lease
            outcomes[name] = exc.details['holder']

    threads = [threading.Thread(target=take, args=(name,)) for name in ('taker A', 'taker B')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [name for name, outcome in outcomes.items() if outcome == name]
    assert winners == ['taker A'], outcomes
    assert sorted(outcomes.values()) == [winners[0], winners[0]]  # the loser names the winner
    stored = json.loads(moto.client('s3').get_object(Bucket=BUCKET, Key='prod/' + LEASE_NAME)['Body'].read())
    assert stored['holder'] == winners[0] and stored['id'] != crashed['id']


def test_s3_a_rewritten_lease_counts_as_lost(s3_backend, moto):
    """verify(): the record must still be the one this run wrote (same ETag), not only carry its id."""
    clock = Clock()
    mine = _lease(s3_backend(), 'AWX job 41', clock)
    record, _info = mine.acquire(wait=0)
    assert mine.verify(record['id'])['holder'] == 'AWX job 41'
    mine.renew(record['id'])
    assert mine.verify(record['id'])['id'] == record['id']
    rewritten = dict(record, holder='AWX job 42')
    moto.client('s3').put_object(Bucket=BUCKET, Key='prod/' + LEASE_NAME, Body=json.dumps(rewritten).encode())
    with pytest.raises(LeaseLost, match='record was rewritten since .*held by AWX job 42'):
        mine.verify(record['id'])
    with pytest.raises(LeaseLost, match='ended and AWX job 43 took it'):
        moto.client('s3').put_object(Bucket=BUCKET, Key='prod/' + LEASE_NAME,
                                     Body=json.dumps(dict(record, holder='AWX job 43', id='c' * 32)).encode())
        mine.verify(record['id'])
