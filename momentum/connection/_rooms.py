"""What a connection does with the room requests its client sends.

`room_subscribe` checks each room (it exists; a private one counts the user among its
members, read from the store at every subscribe, or the request carries a room grant for
the user and the room (`_grants`); the connection's room limit), subscribes
through the hub, recovers what the client missed, and answers one `ack` listing the rooms
subscribed, after an `error` for each room refused. `room_publish`, once the hub has charged
it to the user's rate (the bucket its direct messages draw from too) and to the connection's
rate in that room, hands the message to the room writer (`_room_publish`), which stores it
with its offset and answers after the commit. Every refusal is an `error` envelope with a
code, the connection staying open.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import trio

from actors import ActorError

from ..auth import BucketPolicy, KeyedBuckets
from ..config import CALL_TIMEOUT
from ..hub import DELIVERY_ERRORS, ChargeSender, RoomJoin, RoomLeave
from ..protocol import ErrorCode, Inbound, MessageType
from ..rooms import (
    RequestError,
    grant_token,
    max_payload,
    may_enter,
    publication,
    subscriptions,
    unsubscriptions,
)
from ..storage import NewRoomMessage, Room, StorageError
from ._grants import GrantCheck
from ._handle import Handle
from ._links import ReaderLinks
from ._replay import ROUTED_WAIT
from ._room_publish import hand_over
from ._room_recovery import recover_room
from ._room_replies import ack as _ack
from ._room_replies import error as _error


async def handle_room_request(
    handle: Handle, inbound: Inbound, links: ReaderLinks, now: float
) -> None:
    try:
        if inbound.to_user_id is not None:
            raise RequestError(ErrorCode.INVALID_ENVELOPE, "room requests have no to_user_id")
        match inbound.type:
            case MessageType.ROOM_SUBSCRIBE:
                await _subscribe(handle, inbound, links, subscriptions(inbound.data))
            case MessageType.ROOM_UNSUBSCRIBE:
                await _unsubscribe(handle, inbound, links, unsubscriptions(inbound.data))
            case _:
                await _publish(handle, inbound, links, now)
    except RequestError as exc:
        _error(handle, exc.code, exc.message, inbound.ref_id)


async def _subscribe(
    handle: Handle,
    inbound: Inbound,
    links: ReaderLinks,
    wanted: list[tuple[uuid.UUID, int | None]],
) -> None:
    done: list[dict[str, Any]] = []
    grant = GrantCheck(links.grants, handle.user_id, grant_token(inbound.data))
    for room_id, after in wanted:
        admitted = await _admit(handle, inbound.ref_id, links, room_id, grant)
        if admitted is None:
            continue
        room, until = admitted
        cursor = handle.rooms.get(room_id)
        while cursor is not None and cursor.held is not None:  # one recovery at a time
            await handle.rooms.wait_released(room_id)
            cursor = handle.rooms.get(room_id)
        if cursor is not None and after is None:
            after = cursor.sent  # subscribed already: nothing missed
        handle.rooms.enter(room)
        routed = trio.Event()
        await links.hub.cast(RoomJoin(handle, room_id, routed, until))
        with trio.move_on_after(ROUTED_WAIT):
            await routed.wait()
        try:
            outcome = await recover_room(handle, links.store, room_id, after)
        except StorageError:
            outcome = None
        if outcome is None:  # deleted meanwhile, or the store failed: not subscribed
            await _leave(handle, links, room_id)
            _error(handle, ErrorCode.STORAGE_UNAVAILABLE, "try again", inbound.ref_id, room_id)
            continue
        entry = {"room_id": str(room_id), "offset": outcome.sent, "recovered": outcome.recovered}
        done.append(entry)
    if done:
        _ack(handle, {"ref_id": inbound.ref_id, "rooms": done})


async def _admit(
    handle: Handle, ref_id: str, links: ReaderLinks, room_id: uuid.UUID, grant: GrantCheck
) -> tuple[Room, float | None] | None:
    """The room if this connection may subscribe to it, and until when (Trio time) if a
    grant let it in (None: for as long as it stays subscribed); else None, the client told
    why."""
    if room_id not in handle.rooms and len(handle.rooms) >= links.room_limit:
        limit = links.room_limit
        _error(handle, ErrorCode.TOO_MANY_ROOMS, f"at most {limit} rooms", ref_id, room_id)
        return None
    try:
        room = await links.store.get_room(room_id)
        private = room is not None and room.kind == "private"
        member = await links.store.get_room_member(room_id, handle.user_id) if private else None
    except StorageError:
        _error(handle, ErrorCode.STORAGE_UNAVAILABLE, "the store failed", ref_id, room_id)
        return None
    if room is None:
        _error(handle, ErrorCode.NOT_FOUND, "no such room", ref_id, room_id)
        return None
    if may_enter(room, member):
        return room, None
    refusal, until = grant.admits(room_id)
    if refusal is not None:
        _error(handle, ErrorCode.FORBIDDEN, refusal, ref_id, room_id)
        return None
    return room, until


async def _unsubscribe(
    handle: Handle, inbound: Inbound, links: ReaderLinks, rooms: list[uuid.UUID]
) -> None:
    for room_id in rooms:
        await _leave(handle, links, room_id)
    _ack(handle, {"ref_id": inbound.ref_id, "rooms": [str(r) for r in rooms]})


async def _leave(handle: Handle, links: ReaderLinks, room_id: uuid.UUID) -> None:
    handle.rooms.leave(room_id)
    await links.hub.cast(RoomLeave(handle, room_id))


async def _publish(handle: Handle, inbound: Inbound, links: ReaderLinks, now: float) -> None:
    wanted = publication(inbound.data)
    cursor = handle.rooms.get(wanted.room_id)
    if cursor is None:
        raise RequestError(ErrorCode.FORBIDDEN, "subscribe to the room before publishing to it")
    payload = orjson.dumps(wanted.data)
    limit = max_payload(cursor.room, links.max_message_size)
    if len(payload) > limit:
        raise RequestError(ErrorCode.PAYLOAD_TOO_LARGE, f"data is larger than {limit} bytes")
    _charge_room(links, wanted.room_id, now)
    await _charge(handle, links)
    new = NewRoomMessage(
        inbound.id, wanted.room_id, handle.user_id, wanted.message_type, payload, datetime.now(UTC)
    )
    await hand_over(handle, inbound.ref_id, links, new, now)


def room_rates(rate: float, burst: int, rooms: int) -> KeyedBuckets[uuid.UUID] | None:
    """One connection's publish rate per room (`ROOM_PUBLISH_RATE`), None for no limit; a
    bucket per room it published to lately (at most its room limit: a room left and entered
    again finds its bucket as it was)."""
    if rate <= 0:
        return None
    return KeyedBuckets(BucketPolicy(burst=burst, refill=1 / rate), max_keys=rooms)


def _charge_room(links: ReaderLinks, room_id: uuid.UUID, now: float) -> None:
    if links.room_rates is not None and links.room_rates.take(room_id, now):
        why = "the message was not sent: you send too fast to this room (ROOM_PUBLISH_RATE)"
        raise RequestError(ErrorCode.RATE_LIMITED, why)


async def _charge(handle: Handle, links: ReaderLinks) -> None:
    """Take one message from the user's rate (the hub keeps it); `RequestError` if over."""
    try:
        wait: float = await links.hub.call(
            lambda reply: ChargeSender(handle.user_id, reply), timeout=CALL_TIMEOUT
        )
    except ActorError:
        busy = "the server is busy: the message was not sent, try again"
        raise RequestError(ErrorCode.UNAVAILABLE, busy) from None
    if wait:
        raise RequestError(ErrorCode.RATE_LIMITED, DELIVERY_ERRORS[ErrorCode.RATE_LIMITED])
