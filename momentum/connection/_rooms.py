"""What a connection does with the room requests its client sends.

`room_subscribe` checks each room (it exists; a private one counts the user among its
members, read from the store at every subscribe; the connection's room limit), subscribes
through the hub, recovers what the client missed, and answers one `ack` listing the rooms
subscribed, after an `error` for each room refused. `room_publish` hands the message to the
room writer (`_room_publish`), which stores it with its offset and answers after the commit.
Every refusal is an `error` envelope with a code, the connection staying open.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import trio

from ..hub import RoomJoin, RoomLeave
from ..protocol import ErrorCode, Inbound, MessageType
from ..rooms import (
    RequestError,
    max_payload,
    may_enter,
    publication,
    subscriptions,
    unsubscriptions,
)
from ..storage import NewRoomMessage, Room, StorageError
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
    for room_id, after in wanted:
        room = await _admit(handle, inbound.ref_id, links, room_id)
        if room is None:
            continue
        cursor = handle.rooms.get(room_id)
        if cursor is not None and after is None:
            after = cursor.sent  # subscribed already: nothing missed
        handle.rooms.enter(room)
        routed = trio.Event()
        await links.hub.cast(RoomJoin(handle, room_id, routed))
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
    handle: Handle, ref_id: str, links: ReaderLinks, room_id: uuid.UUID
) -> Room | None:
    """The room if this connection may subscribe to it; else None, the client told why."""
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
    if not may_enter(room, member):
        _error(handle, ErrorCode.FORBIDDEN, "this room is private: members only", ref_id, room_id)
        return None
    return room


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
    new = NewRoomMessage(
        inbound.id, wanted.room_id, handle.user_id, wanted.message_type, payload, datetime.now(UTC)
    )
    await hand_over(handle, inbound.ref_id, links, new, now)
