"""The replay: what was stored for a user and not yet acknowledged, sent when it connects."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

import trio

from ..hub import ReplayGate
from ..storage import StorageError, Store
from ..wire import WireStream
from ._handle import Handle

log = logging.getLogger("momentum.connection")

#: Stored messages read from the store at a time when a user connects.
REPLAY_PAGE = 200
#: How long a new connection waits for the store to catch up before it goes live without
#: replaying (the stored messages stay pending for its next connection).
BARRIER_WAIT = 5.0
#: How long it waits for its user's topic to be subscribed (a cluster's broker) before it
#: replays anyway: a broker that is down catches every connection up when it is back.
ROUTED_WAIT = 2.0

#: How many messages a user holds pending (the lookup actor's batched count); raises
#: `StorageError` when it cannot answer.
PendingCounter = Callable[[uuid.UUID], Awaitable[int]]


async def replay_then_go_live(
    handle: Handle, store: Store, gate: ReplayGate, pending_count: PendingCounter
) -> None:
    """Send the stored messages, oldest first; then release the frames held meanwhile.

    It starts once the store writer has committed every message routed to the user before
    this connection joined, and the messages committed from then on reach this node
    (`ReplayGate`); from the join on, the handle holds this connection's live frames, so
    stored and live messages reach the client in order. A
    message both replayed and routed live during the switch-over is sent once (the handle
    drops the live copy). The replay ends with the queue drained, so that the
    held frames find room. A user with nothing pending costs no replay query.
    """
    await _replay(handle, store, gate, pending_count)
    handle.go_live()


async def catch_up(handle: Handle, store: Store) -> None:
    """The stored messages again, on a live connection (after a broker interruption):
    at-least-once, so a client may see a message twice and drops it by id."""
    await _send_pending(handle, store)


async def _replay(
    handle: Handle, store: Store, gate: ReplayGate, pending_count: PendingCounter
) -> None:
    # A gate already open costs no timer and no trip through the scheduler (in one process
    # `routed` is set by the join itself).
    if not gate.routed.is_set():
        with trio.move_on_after(ROUTED_WAIT) as routing:
            await gate.routed.wait()
        if routing.cancelled_caught:
            log.warning("replaying for %s before its topic is subscribed", handle.user_id)
    if not gate.committed.is_set():
        with trio.move_on_after(BARRIER_WAIT) as waited:
            await gate.committed.wait()
        if waited.cancelled_caught:  # the store is far behind or down: go live without it
            log.warning(
                "stored messages for %s not replayed now: the store is behind", handle.user_id
            )
            return
    # The count is read only now, with the connection joined and the gate open, never with
    # the user at the handshake: a message committed between that lookup and the join
    # would be neither counted nor routed live, and would wait for the next connection.
    # Read now, a message committed before the read is counted, and one committed after it
    # is routed to the handle (held until `go_live`). The count comes from the store, not
    # from memory: right after a restart, and for messages other nodes committed.
    try:
        pending = await pending_count(handle.user_id)
    except StorageError as exc:
        log.warning("stored messages for %s not replayed now: %s", handle.user_id, exc)
        return
    if pending:
        await _send_pending(handle, store)


async def _send_pending(handle: Handle, store: Store) -> None:
    wire, after = handle.wire, 0
    while True:
        try:
            page = await store.pending_messages(handle.user_id, after_seq=after, limit=REPLAY_PAGE)
        except StorageError as exc:
            log.warning("stored messages for %s not replayed now: %s", handle.user_id, exc)
            return
        for message in page:
            frame = handle.wire_format.frame(message.envelope)
            handle.replayed(message.id)
            while not wire.send_frame_nowait(frame):
                if not await _room(wire):
                    return
        if len(page) < REPLAY_PAGE:
            await _room(wire)
            return
        after = page[-1].seq


async def _room(wire: WireStream) -> bool:
    """Wait until the queue has drained (a replay may wait; the hub never does)."""
    try:
        await wire.wait_send_all_might_not_block()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return False
    return True
