"""The hub driven directly, with fake connection handles: admission, routing, batching and
flush, overflow, durable hand-off to the store writer, presence, sweeps and shutdown.

Rules: a `Hub` object without its task (its handlers are plain methods) and without
sockets: every connection is a `FakeHandle` recording what the hub did to it; the writer is
a real mailbox the test reads. Trio's autojump clock for expiry; tests with no await need
no `fail_after` (it could never fire).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import msgpack
import orjson
import pytest
import trio
import trio.testing

from actors import Mailbox, open_mailbox
from momentum.hub import (
    DISABLED_MEMORY,
    Delivery,
    Hub,
    HubConfig,
    Publish,
    ReplayGate,
    RevokeTokens,
)
from momentum.protocol import ErrorCode, Frame, WireFormat, text_frame, text_payload_offset
from momentum.storage import Barrier, Persist, WriteResult, WriterMsg


@dataclass
class FakeHandle:
    """A connection as the hub sees it; `capacity` frames fit before it is full."""

    conn_id: int
    user_id: uuid.UUID
    username: str = "u"
    connected_at: str = "2026-01-01T00:00:00.000Z"
    last_activity: float = 0.0
    finished: bool = False
    capacity: int = 100
    broken: bool = False
    frames: list[bytes] = field(default_factory=list)
    flushes: int = 0
    close_code: int | None = None
    catch_ups: int = 0
    token_id: str = ""
    token_issued_ms: int = 0
    token_session: str | None = None
    wants_presence: bool = True
    wire_format: WireFormat = WireFormat.JSON
    dropped_rooms: list[uuid.UUID] = field(default_factory=list)

    def catch_up(self) -> None:
        self.catch_ups += 1

    @property
    def closing(self) -> bool:
        return self.close_code is not None or self.broken

    def offer(self, frame: Frame) -> bool:
        if self.closing or len(self.frames) >= self.capacity:
            return False
        self.frames.append(frame.encoded(self.wire_format))
        return True

    def offer_room(self, room_id: uuid.UUID, offset: int, frame: Frame) -> bool:
        return self.offer(frame)

    def drop_room(self, room_id: uuid.UUID) -> None:
        self.dropped_rooms.append(room_id)

    def flush(self) -> None:
        self.flushes += 1

    def close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code = code


_ids = iter(range(1, 1_000_000))


def make_hub(writer_capacity: int = 100, **overrides: object) -> tuple[Hub, Mailbox[WriterMsg]]:
    settings: dict[str, object] = {
        "max_connections": 3,
        "max_connections_per_user": 2,
        "presence_interval": 0.5,
        "reservation_ttl": 30.0,
    }
    settings.update(overrides)
    ref, inbox = open_mailbox[WriterMsg]("writer", writer_capacity)
    return Hub(HubConfig(**settings), started_at=0.0, writer=ref), inbox  # type: ignore[arg-type]


def joined(hub: Hub, user: uuid.UUID | None = None, **kwargs: object) -> FakeHandle:
    user = user or uuid.uuid4()
    reservation = hub.reserve(user)
    assert isinstance(reservation, int), reservation
    handle = FakeHandle(next(_ids), user, **kwargs)  # type: ignore[arg-type]
    hub.join(handle, reservation, ReplayGate())
    return handle


def message(
    to: uuid.UUID | None, answers: list[Delivery], *, sender: uuid.UUID | None = None
) -> Publish:
    message_id = str(uuid.uuid4())
    envelope = f'{{"id":"{message_id}","message_type":"text"}}'.encode()
    return Publish(message_id, message_id, "text", to, envelope, 0.0, sender, answers.append)


def drain(inbox: Mailbox[WriterMsg]) -> list[WriterMsg]:
    taken = []
    while True:
        try:
            taken.append(inbox.receive_nowait())
        except trio.WouldBlock:
            return taken


# -- admission ---------------------------------------------------------------------------


async def test_an_abandoned_reservation_expires(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(100):
        hub, _ = make_hub()
        user = uuid.uuid4()
        first, second = hub.reserve(user), hub.reserve(user)
        assert isinstance(first, int) and isinstance(second, int)
        refusal = hub.reserve(user)
        assert not isinstance(refusal, int)
        assert (refusal.status, refusal.code) == (429, ErrorCode.TOO_MANY_CONNECTIONS)
        await trio.sleep(29)
        hub.tick()
        assert not isinstance(hub.reserve(user), int)  # not yet
        await trio.sleep(2)
        hub.tick()  # their callers timed out and never came back: the slots are free
        assert isinstance(hub.reserve(user), int)
        assert len(hub.reservations) == 1 and hub.reservations.held_by(user) == 1


async def test_the_server_full_is_refused_503() -> None:
    hub, _ = make_hub(max_connections=2)
    joined(hub), joined(hub)
    refusal = hub.reserve(uuid.uuid4())
    assert not isinstance(refusal, int)
    assert (refusal.status, refusal.code) == (503, ErrorCode.SERVER_FULL)


async def test_release_and_join_give_back_the_reservation() -> None:
    hub, _ = make_hub()
    user = uuid.uuid4()
    released = hub.reserve(user)
    assert isinstance(released, int)
    hub.release(released)
    hub.release(released)  # twice is harmless
    joined(hub, user)
    assert len(hub.reservations) == 0 and hub.reservations.held_by(user) == 0
    assert len(hub.connections) == 1


async def test_after_close_all_reserve_refuses_and_a_late_join_is_closed_1001() -> None:
    hub, _ = make_hub()
    user = uuid.uuid4()
    reservation = hub.reserve(user)
    assert isinstance(reservation, int)
    assert hub.close_all(1001, "server shutting down") == 0
    refusal = hub.reserve(uuid.uuid4())
    assert not isinstance(refusal, int) and refusal.code == ErrorCode.SHUTTING_DOWN
    late = FakeHandle(next(_ids), user)
    hub.join(late, reservation, ReplayGate())
    assert late.close_code == 1001


async def test_a_user_disabled_during_its_handshake_is_closed_4003_on_join(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(100):
        hub, _ = make_hub()
        user = uuid.uuid4()
        reservation = hub.reserve(user)
        assert isinstance(reservation, int)
        assert hub.set_user_active(user, False) == 0
        handle = FakeHandle(next(_ids), user)
        hub.join(handle, reservation, ReplayGate())
        assert handle.close_code == 4003
        hub.set_user_active(user, True)
        assert user not in hub.disabled
        hub.set_user_active(user, False)
        await trio.sleep(DISABLED_MEMORY + 1)
        hub.tick()
        assert user not in hub.disabled


# -- routing, batching, overflow ---------------------------------------------------------------


async def test_a_direct_message_reaches_every_connection_of_its_user_and_no_one_else() -> None:
    hub, _ = make_hub(max_connections=10)
    bob = uuid.uuid4()
    phone, laptop, other = joined(hub, bob), joined(hub, bob), joined(hub)
    answers: list[Delivery] = []
    msg = message(bob, answers)
    hub.publish(msg)
    frame = text_frame(msg.envelope)
    assert phone.frames == [frame] and laptop.frames == [frame]
    assert other.frames == []
    assert hub.counters.deliveries == 2


async def test_a_broadcast_reaches_everyone_and_is_answered_at_once_not_stored() -> None:
    hub, inbox = make_hub(max_connections=10)
    handles = [joined(hub) for _ in range(3)]
    answers: list[Delivery] = []
    msg = message(None, answers)
    hub.publish(msg)
    assert all(h.frames == [text_frame(msg.envelope)] for h in handles)
    assert answers == [Delivery(msg.message_id, msg.ref_id, 3, stored=False)]
    assert [m for m in drain(inbox) if isinstance(m, Persist)] == []


async def test_a_message_is_encoded_at_most_once_per_format_and_only_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    packed: list[object] = []

    real_packb = msgpack.packb

    def counting_packb(value: object) -> bytes:
        packed.append(value)
        result: bytes = real_packb(value)
        return result

    monkeypatch.setattr(msgpack, "packb", counting_packb)
    hub, _ = make_hub(max_connections=10)
    plain = [joined(hub) for _ in range(2)]
    hub.publish(message(None, []))
    assert packed == []  # no MessagePack receiver: no MessagePack encoding
    binary = [joined(hub, wire_format=WireFormat.MSGPACK) for _ in range(3)]
    msg = message(None, [])
    hub.publish(msg)
    assert len(packed) == 1  # three MessagePack receivers, one encoding
    assert binary[0].frames[-1] is binary[1].frames[-1] is binary[2].frames[-1]
    frame = binary[0].frames[-1]
    assert frame[0] == 0x82  # a binary frame
    assert msgpack.unpackb(frame[text_payload_offset(frame) :]) == orjson.loads(msg.envelope)
    assert all(h.frames[-1] == text_frame(msg.envelope) for h in plain)


async def test_each_connection_is_flushed_once_per_batch_whatever_it_was_offered() -> None:
    hub, _ = make_hub(max_connections=10)
    busy, quiet = joined(hub), joined(hub)
    for _ in range(5):
        hub.publish(message(busy.user_id, []))
    hub.flush()
    assert len(busy.frames) == 5 and busy.flushes == 1
    assert quiet.flushes == 0
    hub.flush()  # nothing offered since: nobody flushed again
    assert busy.flushes == 1


async def test_a_full_connection_is_closed_4009_and_counted_once() -> None:
    hub, _ = make_hub(max_connections=10)
    slow, fine = joined(hub, capacity=2), joined(hub)
    for _ in range(4):
        hub.publish(message(None, []))
    assert slow.close_code == 4009 and len(slow.frames) == 2
    assert fine.close_code is None and len(fine.frames) == 4
    assert hub.counters.drops["slow_consumer"] == 1


async def test_a_closing_connection_that_refuses_a_frame_is_not_a_slow_consumer() -> None:
    hub, _ = make_hub(max_connections=10)
    leaving, gone = joined(hub), joined(hub, broken=True)
    leaving.close(1000, "bye")
    answers: list[Delivery] = []
    hub.publish(message(None, answers))
    assert hub.counters.drops["slow_consumer"] == 0
    assert gone.close_code is None  # its actor is ending by itself: no close decided here
    assert answers[0].delivered == 0


# -- durable hand-off -----------------------------------------------------------------------


async def test_a_direct_message_goes_to_the_writer_and_its_result_reaches_the_sender() -> None:
    hub, inbox = make_hub()
    bob = joined(hub)
    answers: list[Delivery] = []
    msg = message(bob.user_id, answers, sender=uuid.uuid4())
    hub.publish(msg)
    assert answers == []  # the sender hears only after the commit
    (persist,) = [m for m in drain(inbox) if isinstance(m, Persist)]
    assert persist.message.id == msg.message_id
    assert persist.message.recipient_id == bob.user_id
    assert persist.message.envelope == msg.envelope
    persist.on_written(WriteResult.STORED)
    persist.on_written(WriteResult.REFUSED)
    persist.on_written(WriteResult.FAILED)
    assert answers == [
        Delivery(msg.message_id, msg.ref_id, 1, True, None),
        Delivery(msg.message_id, msg.ref_id, 1, False, ErrorCode.DUPLICATE_ID),
        Delivery(msg.message_id, msg.ref_id, 1, False, ErrorCode.STORAGE_UNAVAILABLE),
    ]


async def test_a_full_writer_mailbox_is_answered_storage_busy_without_waiting() -> None:
    hub, inbox = make_hub(writer_capacity=1)
    hub.publish(message(uuid.uuid4(), []))  # fills the writer's mailbox
    answers: list[Delivery] = []
    msg = message(uuid.uuid4(), answers)
    hub.publish(msg)
    assert answers == [Delivery(msg.message_id, msg.ref_id, 0, False, ErrorCode.STORAGE_BUSY)]
    assert hub.counters.drops["storage_busy"] == 1
    assert hub.counters.drops["recipient_offline"] == 2
    assert len(drain(inbox)) == 1


async def test_barriers_go_to_the_writer_in_join_order_even_when_it_is_full() -> None:
    hub, inbox = make_hub(writer_capacity=1, max_connections=10)
    hub.publish(message(uuid.uuid4(), []))  # the writer's mailbox is full
    gates = [ReplayGate() for _ in range(2)]
    for gate in gates:
        reservation = hub.reserve(uuid.uuid4())
        assert isinstance(reservation, int)
        hub.join(FakeHandle(next(_ids), uuid.uuid4()), reservation, gate)
    assert len(drain(inbox)) == 1  # the message; the barriers wait in the hub
    hub.flush()  # one fits now; the next batch sends the other
    (first,) = drain(inbox)
    hub.flush()
    (second,) = drain(inbox)
    assert isinstance(first, Barrier) and isinstance(second, Barrier)
    assert [first.done, second.done] == [g.committed for g in gates]


# -- presence, sweeps, admin -----------------------------------------------------------------


async def test_presence_is_coalesced_into_one_frame_per_tick() -> None:
    hub, _ = make_hub(max_connections=10)
    watcher = joined(hub)
    hub.tick()
    watcher.frames.clear()
    for _ in range(3):
        joined(hub)
    assert watcher.frames == []  # nothing until the tick
    hub.tick()
    assert len(watcher.frames) == 1 and b"user_joined" in watcher.frames[0]
    assert hub.counters.presence_frames == 2


async def test_a_second_connection_of_a_user_is_not_announced_and_leave_of_the_last_is() -> None:
    hub, _ = make_hub(max_connections=10)
    watcher = joined(hub)
    alice = uuid.uuid4()
    first = joined(hub, alice)
    hub.tick()
    watcher.frames.clear()
    second = joined(hub, alice)
    hub.leave(first)
    hub.tick()
    assert watcher.frames == []
    hub.leave(second)
    hub.tick()
    assert len(watcher.frames) == 1 and b"user_left" in watcher.frames[0]
    assert alice not in hub.by_user


async def test_presence_goes_only_to_connections_that_want_it() -> None:
    hub, _ = make_hub(max_connections=10)
    listener, quiet = joined(hub), joined(hub, wants_presence=False)
    hub.tick()
    assert len(listener.frames) == 1 and quiet.frames == []
    hub.leave(listener)
    newcomer = joined(hub)
    hub.tick()
    assert quiet.frames == [] and list(hub.presence_audience.values()) == [newcomer]
    assert len(newcomer.frames) == 2  # the user_left and the user_joined of this tick
    assert hub.counters.deliveries_by_type == {"presence": 3}


async def test_a_page_of_online_users_is_ordered_by_id_and_its_cursor_is_stable() -> None:
    hub, _ = make_hub(max_connections=20)
    ids = [uuid.UUID(int=n) for n in (5, 1, 9, 3, 7)]
    for user_id in ids:
        joined(hub, user_id)
    first = hub.online_page(None, 2)
    assert [u.user_id for u in first.users] == [uuid.UUID(int=1), uuid.UUID(int=3)]
    assert (first.total, first.next) == (5, uuid.UUID(int=3))
    joined(hub, uuid.UUID(int=2))  # behind the cursor: not seen, nobody is listed twice
    hub.leave(next(iter(hub.by_user[uuid.UUID(int=5)].values())))
    second = hub.online_page(first.next, 2)
    assert [u.user_id for u in second.users] == [uuid.UUID(int=7), uuid.UUID(int=9)]
    assert second.next is None
    assert hub.online_page(uuid.UUID(int=9), 2).users == []


async def test_sweep_closes_the_idle_and_forgets_finished_connections() -> None:
    hub, _ = make_hub(max_connections=10)
    idle, lively = joined(hub, last_activity=10.0), joined(hub, last_activity=100.0)
    lost = joined(hub, last_activity=100.0)
    lost.finished = True  # its Leave never arrived
    assert hub.sweep(idle_before=50.0) == 1
    assert idle.close_code == 4010 and lively.close_code is None
    assert lost.conn_id not in hub.connections


async def test_disabling_a_user_closes_each_of_its_connections_4003() -> None:
    hub, _ = make_hub(max_connections=10)
    alice = uuid.uuid4()
    mine, other = [joined(hub, alice), joined(hub, alice)], joined(hub)
    assert hub.set_user_active(alice, False) == 2
    assert [h.close_code for h in mine] == [4003, 4003]
    assert other.close_code is None


async def test_revoking_tokens_closes_the_connections_opened_with_them_4001() -> None:
    hub, _ = make_hub(max_connections=10, max_connections_per_user=3)
    alice = uuid.uuid4()
    old = joined(hub, alice, token_id="j1", token_issued_ms=1_000)
    new = joined(hub, alice, token_id="j2", token_issued_ms=2_000, token_session="s2")
    other = joined(hub, alice, token_id="j3", token_issued_ms=3_000, token_session="s3")
    stranger = joined(hub, token_id="j1", token_issued_ms=0)  # another user: not touched
    assert hub.revoke_tokens(RevokeTokens(alice, "j9")) == 0
    assert hub.revoke_tokens(RevokeTokens(alice, "j1")) == 1
    assert (old.close_code, new.close_code) == (4001, None)
    assert hub.revoke_tokens(RevokeTokens(alice, None, session="s2")) == 1  # a session ended
    assert (new.close_code, other.close_code) == (4001, None)
    assert hub.revoke_tokens(RevokeTokens(alice, None, 3_001)) == 3  # a password change
    assert (other.close_code, stranger.close_code) == (4001, None)


async def test_stats_are_a_typed_snapshot() -> None:
    hub, _ = make_hub(max_connections=10)
    alice = uuid.uuid4()
    joined(hub, alice), joined(hub, alice), joined(hub)
    hub.publish(message(None, []))
    stats = hub.stats()
    assert (stats.total_connections, stats.unique_users) == (3, 2)
    assert stats.messages_by_type == {"text": 1} and stats.deliveries == 3
    assert stats.as_json()["total_connections"] == 3
    online = {u.user_id: u.connections for u in hub.online_page(None, 10).users}
    assert online[alice] == 2


# -- across nodes ---------------------------------------------------------------------------


@dataclass
class RecordingBroker:
    name: str = "recording"
    published: list[tuple[str, bytes, str]] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)
    waiting: list[trio.Event] = field(default_factory=list)

    def publish(self, topic: str, frame: bytes, kind: str, message_id: str = "") -> None:
        self.published.append((topic, frame, kind))
        self.ids.append(message_id)

    def subscribe(self, topic: str, routed: trio.Event) -> None:
        self.topics.add(topic)
        self.waiting.append(routed)

    def unsubscribe(self, topic: str) -> None:
        self.topics.discard(topic)


@dataclass
class RecordingPresence:
    events: list[tuple[str, uuid.UUID]] = field(default_factory=list)

    def user_online(self, user_id: uuid.UUID, username: str) -> None:
        self.events.append(("online", user_id))

    def user_offline(self, user_id: uuid.UUID, username: str) -> None:
        self.events.append(("offline", user_id))


async def test_subscriptions_follow_users_and_each_join_waits_for_its_topic() -> None:
    broker = RecordingBroker()
    hub, _ = make_hub(max_connections=10, broker=broker)
    bob = uuid.uuid4()
    first, second = joined(hub, bob), joined(hub, bob)
    assert broker.topics == {f"user:{bob}"}
    assert len(broker.waiting) == 2  # every join asks: the first one's may not be done yet
    hub.leave(first)
    assert broker.topics == {f"user:{bob}"}
    hub.leave(second)
    assert broker.topics == set()


async def test_a_broadcast_crosses_at_once_and_a_direct_message_once_after_its_commit() -> None:
    broker = RecordingBroker()
    hub, inbox = make_hub(broker=broker)
    bob = uuid.uuid4()
    hub.publish(message(None, []))
    assert [(t, k) for t, _, k in broker.published] == [("broadcast", "text")]
    broker.published.clear()
    direct = message(bob, [])
    hub.publish(direct)
    assert broker.published == []  # not before the commit
    (persist,) = [m for m in drain(inbox) if isinstance(m, Persist)]
    persist.on_written(WriteResult.STORED)
    assert broker.published == [(f"user:{bob}", text_frame(direct.envelope), "text")]
    assert broker.ids[-1] == persist.message.id


@pytest.mark.parametrize(
    ("result", "crosses"),
    [(WriteResult.FAILED, True), (WriteResult.REFUSED, False)],
)
async def test_an_unstored_direct_message_crosses_live_unless_refused(
    result: WriteResult, crosses: bool
) -> None:
    broker = RecordingBroker()
    hub, inbox = make_hub(broker=broker)
    answers: list[Delivery] = []
    hub.publish(message(uuid.uuid4(), answers))
    (persist,) = [m for m in drain(inbox) if isinstance(m, Persist)]
    persist.on_written(result)
    assert len(broker.published) == int(crosses)
    assert answers[-1].stored is False


async def test_a_direct_message_the_writer_cannot_take_still_crosses_live() -> None:
    broker = RecordingBroker()
    hub, _ = make_hub(writer_capacity=1, broker=broker)
    hub.publish(message(uuid.uuid4(), []))  # fills the writer's mailbox
    answers: list[Delivery] = []
    busy = message(uuid.uuid4(), answers)
    hub.publish(busy)
    assert answers == [Delivery(busy.message_id, busy.ref_id, 0, False, ErrorCode.STORAGE_BUSY)]
    assert [k for _, _, k in broker.published] == ["text"]


async def test_frames_from_other_nodes_reach_local_connections_of_their_topic() -> None:
    hub, _ = make_hub(max_connections=10, broker=RecordingBroker())
    bob = uuid.uuid4()
    mine, other = joined(hub, bob), joined(hub)
    quiet = joined(hub, wants_presence=False)
    hub.forward(f"user:{bob}", b"direct", "text")
    hub.forward("broadcast", b"all", "presence")
    hub.forward("broadcast", b"news", "text")
    hub.forward("nonsense", b"x", "text")
    assert mine.frames == [b"direct", b"all", b"news"] and other.frames == [b"all", b"news"]
    assert quiet.frames == [b"news"]  # presence from other nodes too only where wanted
    assert hub.counters.deliveries_by_type == {"text": 4, "presence": 2}


async def test_catch_up_reaches_every_connection() -> None:
    hub, _ = make_hub(max_connections=10)
    handles = [joined(hub) for _ in range(3)]
    assert hub.catch_up() == 3
    assert [h.catch_ups for h in handles] == [1, 1, 1]


async def test_a_cluster_presence_sink_replaces_local_announcements() -> None:
    presence = RecordingPresence()
    hub, _ = make_hub(max_connections=10, presence=presence)
    watcher = joined(hub)
    alice = uuid.uuid4()
    first = joined(hub, alice)
    second = joined(hub, alice)
    hub.leave(first)
    hub.leave(second)
    hub.tick()
    assert watcher.frames == []  # the cluster announces, not this hub
    assert presence.events == [
        ("online", watcher.user_id),
        ("online", alice),
        ("offline", alice),
    ]
