"""The message half of the storage contract, run against every backend.

Rules: as in test_storage_contract.py: each test runs against each `store_url`
param (the memory store too, unless marked `database_only`) on the real clock (real
databases), under `trio.fail_after`, through the public `momentum.storage` API only.
Times are built around the wall clock's now, because `pending_messages` and
`count_pending` judge expiry by it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import trio

from momentum.storage import (
    MAX_CONVERSATION_LIMIT,
    NewMessage,
    SaveRefusal,
    Store,
    StoredMessage,
    open_store,
)

TIMEOUT = 20
HOUR = timedelta(hours=1)
ALICE, BOB, CAROL = (uuid.UUID(int=n) for n in (0xA11CE, 0xB0B, 0xCA401))


def message(
    recipient: uuid.UUID,
    *,
    sender: uuid.UUID | None = None,
    created_at: datetime | None = None,
    expires_in: timedelta = HOUR,
    text: str = "hi",
    message_id: str | None = None,
) -> NewMessage:
    """A text message whose envelope carries its id, like the server's."""
    msg_id = message_id or str(uuid.uuid4())
    created = created_at or datetime.now(UTC)
    envelope = json.dumps(
        {"id": msg_id, "message_type": "text", "data": {"content": text}},
        separators=(",", ":"),
    ).encode()
    return NewMessage(msg_id, sender, recipient, "text", envelope, created, created + expires_in)


def ids(messages: list[StoredMessage]) -> list[str]:
    return [m.id for m in messages]


async def test_save_then_pending_in_order_across_batches(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        first = [message(ALICE, sender=BOB, text=f"a{i}") for i in range(3)]
        to_bob = message(BOB, sender=ALICE)
        await store.save_messages([*first, to_bob])
        second = [message(ALICE, text="system"), message(ALICE, sender=CAROL, text="é\u2028")]
        await store.save_messages(second)
        pending = await store.pending_messages(ALICE)
        assert ids(pending) == [m.id for m in [*first, *second]]
        assert [m.seq for m in pending] == sorted({m.seq for m in pending})
        for saved, stored in zip([*first, *second], pending, strict=True):
            assert stored == StoredMessage(
                saved.id,
                stored.seq,
                saved.sender_id,
                saved.recipient_id,
                saved.message_type,
                saved.envelope,
                saved.created_at,
            )
            assert stored.created_at.utcoffset() == timedelta(0)
        assert ids(await store.pending_messages(BOB)) == [to_bob.id]


async def test_times_are_stored_as_instants(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        tz = timezone(timedelta(hours=-5))
        created = datetime.now(tz).replace(microsecond=0)
        await store.save_messages([message(ALICE, created_at=created)])
        (stored,) = await store.pending_messages(ALICE)
        assert stored.created_at == created
        assert stored.created_at.tzinfo is not None
        assert stored.created_at.utcoffset() == timedelta(0)


async def test_another_message_under_a_taken_id_is_refused_not_claimed_stored(
    store: Store,
) -> None:
    # Whoever stored an id first keeps it; a save of another message under the same id
    # (another sender, or another recipient) reports that id as refused, in the same batch
    # or a later one, and never replaces or hides the first.
    with trio.fail_after(TIMEOUT):
        first = message(ALICE, sender=BOB, text="bob's")
        assert await store.save_messages([first]) == {}
        from_carol = message(ALICE, sender=CAROL, text="carol's", message_id=first.id)
        to_carol = message(CAROL, sender=BOB, text="to carol", message_id=first.id)
        fresh = message(ALICE, sender=CAROL)
        refused = await store.save_messages([from_carol, fresh, to_carol])
        assert refused == dict.fromkeys([from_carol, to_carol], SaveRefusal.DUPLICATE_ID)
        assert ids(await store.pending_messages(ALICE)) == [first.id, fresh.id]
        (kept, _) = await store.pending_messages(ALICE)
        assert b"bob's" in kept.envelope
        assert await store.pending_messages(CAROL) == []
        twin = message(BOB, sender=ALICE)
        clash = message(CAROL, sender=ALICE, message_id=twin.id)
        assert await store.save_messages([twin, clash]) == {clash: SaveRefusal.DUPLICATE_ID}
        assert ids(await store.pending_messages(BOB)) == [twin.id]
        assert await store.pending_messages(CAROL) == []


async def test_resaving_an_id_is_ignored(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        original = message(ALICE, text="original")
        await store.save_messages([original])
        (before,) = await store.pending_messages(ALICE)
        again = message(ALICE, text="changed", message_id=original.id.upper())
        other = message(ALICE)
        assert await store.save_messages([again, other, other]) == {}
        pending = await store.pending_messages(ALICE)
        assert pending[0] == before
        assert ids(pending) == [original.id, other.id]
        assert await store.count_pending(ALICE) == 2


async def test_one_ack_batch_covers_many_recipients(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        to_alice = [message(ALICE, sender=BOB) for _ in range(2)]
        to_bob = [message(BOB, sender=ALICE) for _ in range(2)]
        await store.save_messages([*to_alice, *to_bob])
        # Each recipient's ids count only for that recipient, in the same batch.
        batch = {ALICE: [to_alice[0].id, to_bob[0].id], BOB: [to_bob[1].id, to_alice[1].id]}
        assert await store.ack_messages(batch) == 2
        assert ids(await store.pending_messages(ALICE)) == [to_alice[1].id]
        assert ids(await store.pending_messages(BOB)) == [to_bob[0].id]
        assert await store.ack_messages({}) == 0


async def test_pending_excludes_acked_and_expired(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        past = datetime.now(UTC) - 2 * HOUR
        expired = message(ALICE, created_at=past, expires_in=HOUR)
        acked, kept = message(ALICE), message(ALICE)
        await store.save_messages([expired, acked, kept])
        assert await store.ack_messages({ALICE: [acked.id]}) == 1
        assert ids(await store.pending_messages(ALICE)) == [kept.id]
        assert await store.count_pending(ALICE) == 1


async def test_pending_counts_follow_saves_acks_and_purges(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        assert await store.pending_counts([]) == {}
        past = datetime.now(UTC) - 2 * HOUR
        expired = message(ALICE, created_at=past, expires_in=HOUR)
        acked, kept, to_bob = message(ALICE), message(ALICE), message(BOB)
        await store.save_messages([expired, acked, kept, to_bob])
        assert await store.pending_counts([ALICE, BOB, CAROL, ALICE]) == {ALICE: 3, BOB: 1}
        assert await store.ack_messages({ALICE: [acked.id], BOB: [to_bob.id]}) == 2
        # Expired but not yet purged still counts: a count is never below what is pending.
        assert await store.pending_counts([ALICE, BOB]) == {ALICE: 2}
        await store.purge_messages(now=datetime.now(UTC), retain_until=past)
        assert await store.pending_counts([ALICE, BOB]) == {ALICE: 1}


async def test_save_and_ack_records_both_in_one_call(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        earlier = message(ALICE)
        await store.save_messages([earlier])
        first, again = message(BOB), message(BOB)
        taken = message(CAROL, message_id=first.id)  # another message under a taken id
        refused = await store.save_and_ack([first, again, taken], {ALICE: [earlier.id]})
        assert refused == {taken: SaveRefusal.DUPLICATE_ID}
        assert await store.pending_counts([ALICE, BOB, CAROL]) == {BOB: 2}
        assert await store.save_and_ack([], {BOB: [first.id, "nope"]}) == {}
        assert await store.save_and_ack([message(ALICE)], {}) == {}
        assert await store.pending_counts([ALICE, BOB]) == {ALICE: 1, BOB: 1}


async def test_after_seq_paging_and_limit(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        saved = [message(ALICE, text=str(i)) for i in range(10)]
        await store.save_messages(saved)
        pages: list[list[str]] = []
        after = 0
        while page := await store.pending_messages(ALICE, after_seq=after, limit=4):
            pages.append(ids(page))
            after = page[-1].seq
        assert pages == [[m.id for m in saved[i : i + 4]] for i in (0, 4, 8)]
        assert await store.pending_messages(ALICE, after_seq=after) == []
        with pytest.raises(ValueError, match="limit"):
            await store.pending_messages(ALICE, limit=0)


async def test_ack_only_own_messages(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        to_alice = [message(ALICE, sender=BOB) for _ in range(3)]
        to_bob = message(BOB, sender=ALICE)
        await store.save_messages([*to_alice, to_bob])
        assert await store.ack_messages({BOB: [to_alice[0].id]}) == 0
        assert await store.ack_messages({ALICE: [to_bob.id, str(uuid.uuid4()), "nope"]}) == 0
        assert await store.ack_messages({ALICE: []}) == 0
        acked = [to_alice[0].id, to_alice[1].id.upper(), to_alice[0].id]
        assert await store.ack_messages({ALICE: acked}) == 2
        assert await store.ack_messages({ALICE: acked}) == 0
        assert ids(await store.pending_messages(ALICE)) == [to_alice[2].id]
        assert ids(await store.pending_messages(BOB)) == [to_bob.id]
        assert await store.count_pending() == 2


async def test_purge_expired_pending_and_acked_past_retention(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        now = datetime.now(UTC)
        days = [now - timedelta(days=d) for d in range(5)]
        expired = message(ALICE, sender=BOB, created_at=days[3], expires_in=timedelta(days=1))
        expires_now = message(ALICE, sender=BOB, created_at=days[1], expires_in=timedelta(days=1))
        old_pending = message(ALICE, sender=BOB, created_at=days[4], expires_in=timedelta(days=9))
        old_acked = message(ALICE, sender=BOB, created_at=days[4], expires_in=timedelta(days=9))
        recent_acked = message(ALICE, sender=BOB, created_at=days[1], expires_in=timedelta(days=9))
        batch = [expired, expires_now, old_pending, old_acked, recent_acked]
        await store.save_messages(batch)
        assert await store.ack_messages({ALICE: [old_acked.id, recent_acked.id]}) == 2

        assert await store.purge_messages(now=now, retain_until=days[2]) == 3
        history = await store.conversation(ALICE, BOB)
        assert ids(history) == [recent_acked.id, old_pending.id]
        assert ids(await store.pending_messages(ALICE)) == [old_pending.id]
        assert await store.purge_messages(now=now, retain_until=days[2]) == 0


async def test_conversation_both_directions_newest_first(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        start = datetime.now(UTC) - HOUR
        times = [start + timedelta(minutes=m) for m in range(6)]
        talk = [
            message(BOB, sender=ALICE, created_at=times[0]),
            message(ALICE, sender=BOB, created_at=times[1]),
            message(ALICE, sender=CAROL, created_at=times[2]),
            message(ALICE, created_at=times[3]),
            message(BOB, sender=ALICE, created_at=times[4]),
            message(ALICE, sender=BOB, created_at=times[5]),
        ]
        await store.save_messages(talk)
        await store.ack_messages({ALICE: [talk[1].id]})
        newest_first = [talk[i].id for i in (5, 4, 1, 0)]
        assert ids(await store.conversation(ALICE, BOB)) == newest_first
        assert ids(await store.conversation(BOB, ALICE)) == newest_first
        assert ids(await store.conversation(ALICE, BOB, limit=2)) == newest_first[:2]
        older = await store.conversation(ALICE, BOB, before=times[4])
        assert ids(older) == newest_first[2:]
        assert ids(await store.conversation(ALICE, CAROL)) == [talk[2].id]
        assert await store.conversation(BOB, CAROL) == []


async def test_conversation_pages_through_equal_timestamps(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        moment = datetime.now(UTC) - HOUR
        earlier = message(BOB, sender=ALICE, created_at=moment - timedelta(seconds=1))
        same = [message(BOB, sender=ALICE, created_at=moment) for _ in range(5)]
        await store.save_messages([earlier, *same])
        expected = [m.id for m in reversed(same)] + [earlier.id]
        seen: list[str] = []
        page = await store.conversation(ALICE, BOB, limit=2)
        while page:
            seen += ids(page)
            last = page[-1]
            page = await store.conversation(
                ALICE, BOB, before=last.created_at, before_seq=last.seq, limit=2
            )
        assert seen == expected
        assert ids(await store.conversation(ALICE, BOB, before=moment)) == [earlier.id]


async def test_conversation_with_oneself_and_bad_arguments(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        note = message(ALICE, sender=ALICE)
        await store.save_messages([note])
        assert ids(await store.conversation(ALICE, ALICE)) == [note.id]
        for limit in (0, MAX_CONVERSATION_LIMIT + 1):
            with pytest.raises(ValueError, match="limit"):
                await store.conversation(ALICE, BOB, limit=limit)
        with pytest.raises(ValueError, match="before_seq"):
            await store.conversation(ALICE, BOB, before_seq=3)
        with pytest.raises(ValueError, match="naive"):
            await store.conversation(ALICE, BOB, before=datetime.now())
        page = await store.conversation(ALICE, ALICE, limit=MAX_CONVERSATION_LIMIT)
        assert len(page) == 1


async def test_invalid_batch_saves_nothing(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        good = message(ALICE)
        with pytest.raises(ValueError):
            await store.save_messages([good, message(ALICE, message_id="not-a-uuid")])
        naive = message(ALICE, created_at=datetime.now())
        with pytest.raises(ValueError, match="naive"):
            await store.save_messages([good, naive])
        await store.save_messages([])
        assert await store.count_pending() == 0
        with pytest.raises(ValueError, match="naive"):
            await store.purge_messages(now=datetime.now(), retain_until=datetime.now(UTC))


async def test_count_pending(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        assert await store.count_pending() == 0
        await store.save_messages([message(ALICE), message(ALICE), message(BOB)])
        assert await store.count_pending(ALICE) == 2
        assert await store.count_pending(BOB) == 1
        assert await store.count_pending(CAROL) == 0
        assert await store.count_pending() == 3


async def test_batch_of_5000(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        batch = [message(ALICE, sender=BOB, text=str(i)) for i in range(5000)]
        await store.save_messages(batch)
        assert await store.count_pending(ALICE) == 5000
        delivered: list[StoredMessage] = []
        while page := await store.pending_messages(
            ALICE, after_seq=delivered[-1].seq if delivered else 0
        ):
            delivered += page
        assert ids(delivered) == [m.id for m in batch]
        assert delivered[4999].envelope == batch[4999].envelope
        assert await store.ack_messages({ALICE: ids(delivered)}) == 5000
        assert await store.count_pending() == 0


@pytest.mark.database_only("nothing outlives the store: there is no restart to survive")
async def test_messages_survive_a_restart(store_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        saved = [message(ALICE, sender=BOB) for _ in range(3)]
        async with open_store(store_url) as first:
            await first.save_messages(saved)
            await first.ack_messages({ALICE: [saved[0].id]})
            before = await first.conversation(ALICE, BOB)
        async with open_store(store_url) as second:
            assert ids(await second.pending_messages(ALICE)) == [m.id for m in saved[1:]]
            assert await second.conversation(ALICE, BOB) == before
            later = message(ALICE)
            await second.save_messages([later])
            pending = await second.pending_messages(ALICE)
            assert pending[-1].id == later.id
            assert pending[-1].seq > max(m.seq for m in before)
