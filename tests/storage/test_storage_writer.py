"""The store writer turns a batch of messages and acks from many senders and recipients
into one transaction, and answers each message after it.

Rules: a real mailbox and the real writer loop over the in-memory store; every test under
fail_after.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import trio

from actors import ActorRef, Mailbox, open_mailbox
from momentum.storage import (
    Acknowledge,
    Barrier,
    NewMessage,
    NewUser,
    Persist,
    WriteResult,
    WriterMsg,
    serve_writer,
)
from tests._memory_store import MemoryStore, open_memory_store


async def test_acks_of_many_recipients_in_one_batch_are_one_store_call() -> None:
    calls: list[Mapping[uuid.UUID, Sequence[str]]] = []

    async with open_memory_store() as store:
        real_ack = store.ack_messages

        async def counting_ack(acks: Mapping[uuid.UUID, Sequence[str]]) -> int:
            calls.append(dict(acks))
            return await real_ack(acks)

        store.ack_messages = counting_ack  # type: ignore[method-assign]
        ref, inbox = open_mailbox[WriterMsg]("writer", 1000)
        recipients = [uuid.uuid4() for _ in range(50)]
        for recipient in recipients:  # queued before the writer runs: one batch
            ref.cast_nowait(Acknowledge(recipient, (str(uuid.uuid4()),)))
        ref.cast_nowait(Acknowledge(recipients[0], (str(uuid.uuid4()),)))
        await write_one_batch(ref, inbox, store)
    assert len(calls) == 1
    assert set(calls[0]) == set(recipients)
    assert len(calls[0][recipients[0]]) == 2


async def test_messages_and_acks_of_a_batch_are_one_transaction_answered_after_it() -> None:
    calls: list[tuple[int, int]] = []
    results: list[WriteResult] = []
    async with open_memory_store() as store:
        alice, bob = await store.create_users([new_user("alice"), new_user("bob")])
        earlier = stored_message(bob.id)
        await store.save_messages([earlier])
        real = store.save_and_ack

        async def counting(messages: Any, acks: Any, **limits: Any) -> Any:
            assert results == []  # nobody hears `stored` before the commit
            calls.append((len(messages), sum(len(ids) for ids in acks.values())))
            return await real(messages, acks, **limits)

        store.save_and_ack = counting  # type: ignore[method-assign]
        ref, inbox = open_mailbox[WriterMsg]("writer", 1000)
        for _ in range(3):  # queued before the writer runs: one batch
            ref.cast_nowait(Persist(stored_message(alice.id), results.append))
        ref.cast_nowait(Acknowledge(bob.id, (earlier.id,)))
        await write_one_batch(ref, inbox, store)
        assert calls == [(3, 1)]
        assert results == [WriteResult.STORED] * 3
        assert await store.count_pending(bob.id) == 0
        assert await store.count_pending(alice.id) == 3


async def write_one_batch(
    ref: ActorRef[WriterMsg], inbox: Mailbox[WriterMsg], store: MemoryStore
) -> None:
    """Run the writer until what was cast before, one batch, is written."""
    done = trio.Event()
    ref.cast_nowait(Barrier(done=done))
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(serve_writer, inbox, store=store))
            await done.wait()
            nursery.cancel_scope.cancel()


def new_user(name: str) -> NewUser:
    return NewUser(f"{name}@example.com", name, "x")


def stored_message(recipient: uuid.UUID) -> NewMessage:
    msg_id, now = str(uuid.uuid4()), datetime.now(UTC)
    envelope = b'{"id":"' + msg_id.encode() + b'"}'
    return NewMessage(msg_id, None, recipient, "text", envelope, now, now + timedelta(hours=1))
