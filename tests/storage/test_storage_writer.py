"""The store writer turns a batch of acks from many recipients into one transaction.

Rules: a real mailbox and the real writer loop over the in-memory store; every test under
fail_after.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from functools import partial

import trio

from actors import open_mailbox
from momentum.storage import Acknowledge, Barrier, WriterMsg, serve_writer
from tests._memory_store import open_memory_store


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
        done = trio.Event()
        ref.cast_nowait(Barrier(done=done))
        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(partial(serve_writer, inbox, store=store))
                await done.wait()
                nursery.cancel_scope.cancel()
    assert len(calls) == 1
    assert set(calls[0]) == set(recipients)
    assert len(calls[0][recipients[0]]) == 2
