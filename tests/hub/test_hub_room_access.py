"""The hub's side of room access and presence: revocations, grant deadlines, room presence
per node (or to a cluster's sink), the per-user rate of room messages.

Rules: the hub is driven directly (no mailbox task), with fake handles and a recording
broker from test_hub.py; time is Trio's, moved by `autojump_clock` where it matters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio
from trio.testing import MockClock

from momentum.hub import ChargeSender, Forward, GetRoomOnline, RoomJoin, RoomRevoke, Tick
from momentum.hub._serve import dispatch
from momentum.protocol import text_payload_offset

from .test_hub import FakeHandle, RecordingBroker, joined, make_hub


def envelopes(handle: FakeHandle) -> list[dict[str, Any]]:
    return [orjson.loads(frame[text_payload_offset(frame) :]) for frame in handle.frames]


def room_presence(handle: FakeHandle) -> list[dict[str, Any]]:
    return [e for e in envelopes(handle) if e["message_type"].startswith("room_member")]


@dataclass
class RecordingRoomPresence:
    events: list[tuple[str, uuid.UUID, uuid.UUID]] = field(default_factory=list)

    def room_online(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None:
        self.events.append(("online", room_id, user_id))

    def room_offline(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None:
        self.events.append(("offline", room_id, user_id))


class Answer:
    def __init__(self) -> None:
        self.value: object = None

    def send(self, value: object) -> None:
        self.value = value


async def test_a_revocation_unsubscribes_the_users_connections_but_granted_ones() -> None:
    hub, _ = make_hub(max_connections=10)
    room, user = uuid.uuid4(), uuid.uuid4()
    member, granted, other = joined(hub, user), joined(hub, user), joined(hub)
    dispatch(hub, RoomJoin(member, room, trio.Event()))
    dispatch(hub, RoomJoin(granted, room, trio.Event(), until=trio.current_time() + 60))
    dispatch(hub, RoomJoin(other, room, trio.Event()))
    dispatch(hub, RoomRevoke(room, "removed", user))
    assert member.dropped_rooms == [room] and granted.dropped_rooms == []
    [notice] = envelopes(member)
    assert notice["message_type"] == "room_unsubscribed"
    assert notice["data"] == {"room_id": str(room), "reason": "removed"}
    assert set(hub.rooms.subscribers[room]) == {granted.conn_id, other.conn_id}

    dispatch(hub, RoomRevoke(room, "deleted"))  # everyone, grants too
    assert granted.dropped_rooms == [room] and other.dropped_rooms == [room]
    assert room not in hub.rooms.subscribers and hub.rooms.granted == {}
    dispatch(hub, RoomRevoke(uuid.uuid4(), "deleted"))  # a room nobody here is in: nothing


async def test_a_grant_ends_its_subscription_at_its_deadline(autojump_clock: MockClock) -> None:
    hub, _ = make_hub(max_connections=10)
    room = uuid.uuid4()
    handle, again = joined(hub), joined(hub)
    dispatch(hub, RoomJoin(handle, room, trio.Event(), until=10.0))
    dispatch(hub, RoomJoin(again, room, trio.Event(), until=5.0))
    dispatch(hub, RoomJoin(again, room, trio.Event()))  # subscribed again, by membership
    await trio.sleep(9.9)
    dispatch(hub, Tick())
    assert handle.dropped_rooms == []
    await trio.sleep(0.2)
    dispatch(hub, Tick())
    assert handle.dropped_rooms == [room] and again.dropped_rooms == []
    unsubscribed = [e for e in envelopes(handle) if e["message_type"] == "room_unsubscribed"]
    assert unsubscribed[0]["data"]["reason"] == "grant_expired"


async def test_room_presence_is_coalesced_and_sent_to_the_room_only() -> None:
    broker = RecordingBroker()
    hub, _ = make_hub(max_connections=10, broker=broker)
    room, elsewhere = uuid.uuid4(), uuid.uuid4()
    alice, bob, bob_again, carol = joined(hub), joined(hub), None, joined(hub)
    bob_again = joined(hub, bob.user_id)
    dispatch(hub, RoomJoin(alice, room, trio.Event()))
    dispatch(hub, RoomJoin(carol, elsewhere, trio.Event()))
    dispatch(hub, Tick())
    dispatch(hub, RoomJoin(bob, room, trio.Event()))
    dispatch(hub, RoomJoin(bob_again, room, trio.Event()))  # bob's second: no news
    hub.leave(bob_again)
    dispatch(hub, Tick())
    presence = room_presence(alice)
    assert [(e["message_type"], e["data"]["users"]) for e in presence] == [
        ("room_member_joined", [{"user_id": str(alice.user_id), "username": "u"}]),
        ("room_member_joined", [{"user_id": str(bob.user_id), "username": "u"}]),
    ]
    assert {e["data"]["room_id"] for e in room_presence(carol)} == {str(elsewhere)}
    answer = Answer()
    dispatch(hub, GetRoomOnline(room, answer))  # type: ignore[arg-type]
    assert answer.value == {alice.user_id: 1, bob.user_id: 1}
    dispatch(hub, RoomJoin(carol, room, trio.Event()))
    hub.leave(carol)  # in and out within one interval: never announced
    hub.leave(bob)
    dispatch(hub, Tick())
    presence = room_presence(alice)
    assert presence[-1]["message_type"] == "room_member_left"
    assert presence[-1]["data"]["users"] == [{"user_id": str(bob.user_id), "username": "u"}]
    assert not any(topic.startswith("room:") for topic, _, _ in broker.published)


async def test_a_cluster_sink_gets_room_presence_and_frames_from_other_nodes_pass() -> None:
    sink = RecordingRoomPresence()
    hub, _ = make_hub(max_connections=10, room_presence=sink)
    room = uuid.uuid4()
    alice = joined(hub)
    dispatch(hub, RoomJoin(alice, room, trio.Event()))
    hub.leave(alice)
    assert sink.events == [("online", room, alice.user_id), ("offline", room, alice.user_id)]
    bob = joined(hub)
    dispatch(hub, RoomJoin(bob, room, trio.Event()))
    dispatch(hub, Tick())
    assert room_presence(bob) == []  # the sink announces, not the hub
    frame = b"\x81\x05hello"
    dispatch(hub, Forward(f"room:{room}", frame, "room_presence"))
    assert bob.frames[-1] == frame


async def test_room_messages_draw_from_the_users_rate(autojump_clock: MockClock) -> None:
    hub, _ = make_hub(max_connections=10, user_rate=1.0, user_burst=2)
    user = uuid.uuid4()
    waits = []
    for _ in range(3):
        answer = Answer()
        dispatch(hub, ChargeSender(user, answer))  # type: ignore[arg-type]
        waits.append(answer.value)
    assert waits == [0.0, 0.0, 1.0]
    assert hub.counters.drops["user_rate_limited"] == 1
    await trio.sleep(1.0)
    answer = Answer()
    dispatch(hub, ChargeSender(user, answer))  # type: ignore[arg-type]
    assert answer.value == 0.0
