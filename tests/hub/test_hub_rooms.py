"""The hub's rooms: subscribers per room, the room topics it wants, one publish per message.

Rules: the hub is driven directly (no mailbox task), with fake handles and a recording
broker from test_hub.py; no I/O and no clock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import trio

from momentum.hub import Forward, RoomJoin, RoomLeave, RoomPublish
from momentum.hub._serve import dispatch
from momentum.protocol import encode_room_message, text_frame

from .test_hub import RecordingBroker, joined, make_hub


def envelope(room_id: uuid.UUID, offset: int) -> bytes:
    return encode_room_message(
        message_id=str(uuid.uuid4()),
        message_type="text",
        payload=b"{}",
        room_id=room_id,
        offset=offset,
        from_user_id=None,
        created_at=datetime.now(UTC),
    )


async def test_a_room_topic_is_wanted_while_the_node_has_a_subscriber() -> None:
    broker = RecordingBroker()
    hub, _ = make_hub(max_connections=10, broker=broker)
    room = uuid.uuid4()
    first, second = joined(hub), joined(hub)
    for handle in (first, second):
        dispatch(hub, RoomJoin(handle, room, trio.Event()))
    assert f"room:{room}" in broker.topics
    dispatch(hub, RoomLeave(first, room))
    assert f"room:{room}" in broker.topics
    hub.leave(second)  # closing counts as leaving every room
    assert f"room:{room}" not in broker.topics
    assert len(hub.rooms) == 0 and hub.rooms.by_conn == {}


async def test_a_room_message_is_published_once_and_offered_to_its_subscribers() -> None:
    broker = RecordingBroker()
    hub, _ = make_hub(max_connections=10, broker=broker)
    room, other = uuid.uuid4(), uuid.uuid4()
    inside, outside = joined(hub), joined(hub)
    dispatch(hub, RoomJoin(inside, room, trio.Event()))
    dispatch(hub, RoomJoin(outside, other, trio.Event()))
    data = envelope(room, 1)
    dispatch(hub, RoomPublish(room, 1, "m1", "text", data, 0.0))
    hub.flush()
    assert inside.frames == [text_frame(data)] and outside.frames == []
    assert broker.published == [(f"room:{room}", text_frame(data), "text")]
    assert broker.ids == ["m1"]

    forwarded = text_frame(envelope(room, 2))
    dispatch(hub, Forward(f"room:{room}", forwarded, "text"))
    assert inside.frames[-1] == forwarded and len(broker.published) == 1


async def test_a_subscriber_that_cannot_keep_up_is_closed() -> None:
    hub, _ = make_hub(max_connections=10)
    room = uuid.uuid4()
    slow = joined(hub, capacity=0)
    dispatch(hub, RoomJoin(slow, room, trio.Event()))
    dispatch(hub, RoomPublish(room, 1, "m1", "text", envelope(room, 1), 0.0))
    assert slow.close_code == 4009


async def test_a_room_join_of_a_connection_that_has_left_is_ignored() -> None:
    broker = RecordingBroker()
    hub, _ = make_hub(max_connections=10, broker=broker)
    gone = joined(hub)
    hub.leave(gone)
    dispatch(hub, RoomJoin(gone, uuid.uuid4(), trio.Event()))
    assert len(hub.rooms) == 0 and not any(t.startswith("room:") for t in broker.topics)
