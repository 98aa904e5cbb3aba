"""Recipient checks of the storage contract, run against every backend: with `limits`, a
message to an id that is no user is refused, and so is one beyond its recipient's pending
quota (count or bytes); acked messages free room, and expired ones once purged.

Rules: as in test_storage_contract.py: each test runs against each `store_url` param (the
memory store too) on the real clock, under `trio.fail_after`, through the public
`momentum.storage` API only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import trio

from momentum.storage import NewUser, RecipientLimits, SaveRefusal, Store, User

from .test_storage_messages import message

TIMEOUT = 20
UNKNOWN = SaveRefusal.UNKNOWN_RECIPIENT
QUOTA = SaveRefusal.RECIPIENT_QUOTA


async def users(store: Store, count: int) -> list[User]:
    return await store.create_users(
        [NewUser(f"adm{n}@example.com", f"adm{n}", "h") for n in range(count)]
    )


async def test_a_message_to_no_user_is_refused_and_not_stored(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        (alice,) = await users(store, 1)
        nobody = uuid.uuid4()
        to_nobody, to_alice = message(nobody, sender=alice.id), message(alice.id)
        refused = await store.save_messages([to_nobody, to_alice], limits=RecipientLimits())
        assert refused == {to_nobody: UNKNOWN}
        assert await store.pending_messages(nobody) == []
        assert [m.id for m in await store.pending_messages(alice.id)] == [to_alice.id]
        assert await store.count_pending() == 1
        # without limits (a trusted caller) nothing is checked
        assert await store.save_messages([message(nobody)]) == {}


async def test_the_pending_quota_counts_messages_in_the_store_and_in_the_batch(
    store: Store,
) -> None:
    with trio.fail_after(TIMEOUT):
        alice, bob = await users(store, 2)
        limits = RecipientLimits(max_pending_count=3, max_pending_bytes=10**6)
        first = [message(alice.id) for _ in range(2)]
        assert await store.save_messages(first, limits=limits) == {}
        batch = [message(alice.id), message(bob.id), message(alice.id), message(alice.id)]
        refused = await store.save_messages(batch, limits=limits)
        assert refused == {batch[2]: QUOTA, batch[3]: QUOTA}
        assert await store.count_pending(alice.id) == 3
        assert await store.count_pending(bob.id) == 1
        # an ack frees room
        await store.ack_messages({alice.id: [first[0].id]})
        later = message(alice.id)
        assert await store.save_messages([later], limits=limits) == {}
        assert await store.save_messages([message(alice.id)], limits=limits) != {}


async def test_the_pending_quota_counts_bytes_and_expired_messages_until_purged(
    store: Store,
) -> None:
    with trio.fail_after(TIMEOUT):
        (alice,) = await users(store, 1)
        size = len(message(alice.id, text="x" * 100).envelope)
        limits = RecipientLimits(max_pending_count=100, max_pending_bytes=2 * size)
        expired = message(alice.id, text="x" * 100, expires_in=timedelta(microseconds=1))
        assert await store.save_messages([expired], limits=limits) == {}
        await trio.sleep(0.01)
        two = [message(alice.id, text="x" * 100) for _ in range(2)]
        assert await store.save_messages(two, limits=limits) == {two[1]: QUOTA}
        now = datetime.now(UTC)
        assert await store.purge_messages(now=now, retain_until=now - timedelta(days=1)) == 1
        batch = [message(alice.id, text="x" * 100) for _ in range(2)]
        assert await store.save_messages(batch, limits=limits) == {batch[1]: QUOTA}
        small = message(alice.id, text="")
        assert await store.save_messages([small], limits=limits) == {small: QUOTA}


async def test_acks_and_retries_keep_the_totals_exact(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        (alice,) = await users(store, 1)
        limits = RecipientLimits(max_pending_count=2, max_pending_bytes=10**6)
        first = message(alice.id)
        # the same message twice in a batch, then again: pending once
        assert await store.save_messages([first, first], limits=limits) == {}
        assert await store.save_messages([first], limits=limits) == {}
        second = message(alice.id)
        assert await store.save_messages([second], limits=limits) == {}
        assert await store.ack_messages({alice.id: [first.id, first.id, str(uuid.uuid4())]}) == 1
        assert await store.ack_messages({alice.id: [first.id]}) == 0  # acked already
        third = message(alice.id)
        assert await store.save_messages([third, message(alice.id)], limits=limits) != {}
        assert await store.count_pending(alice.id) == 2


async def test_a_retry_of_a_stored_message_is_not_refused_for_the_quota(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        alice, bob = await users(store, 2)
        limits = RecipientLimits(max_pending_count=1, max_pending_bytes=10**6)
        first = message(alice.id, sender=bob.id)
        assert await store.save_messages([first], limits=limits) == {}
        other = message(alice.id, sender=bob.id)
        assert await store.save_messages([first, other], limits=limits) == {other: QUOTA}
        # the same id from another sender is no retry: still refused
        impostor = message(alice.id, message_id=first.id)
        assert await store.save_messages([impostor], limits=limits) == {impostor: QUOTA}
        assert await store.count_pending(alice.id) == 1
