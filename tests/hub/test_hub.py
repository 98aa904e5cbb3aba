"""The hub's bookkeeping, driven directly: reservations, shutdown and disabled users.

Rules: a `Hub` object without its task (its handlers are plain methods), real sessions on
real socket pairs (a `WireStream` needs a file descriptor), Trio's autojump clock for
expiry; no server.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from actors import open_mailbox
from momentum.core import Session
from momentum.core.hub import DISABLED_MEMORY, Hub, HubConfig
from momentum.core.persistence import PersistenceMsg
from momentum.transport import WireStream


def make_hub(**overrides: object) -> Hub:
    settings: dict[str, object] = {
        "max_connections": 3,
        "max_connections_per_user": 2,
        "presence_interval": 0.5,
        "reservation_ttl": 30.0,
    }
    settings.update(overrides)
    ref, _ = open_mailbox[PersistenceMsg]("persistence", 100)
    return Hub(HubConfig(**settings), started_at=0.0, persistence=ref)  # type: ignore[arg-type]


@pytest.fixture
async def wire() -> AsyncIterator[WireStream]:
    a, b = socket.socketpair()
    stream = WireStream(trio.SocketStream(trio.socket.from_stdlib_socket(a)), b"", max_frames=8)
    try:
        yield stream
    finally:
        await stream.aclose()
        b.close()


def session_for(wire: WireStream, user: uuid.UUID) -> Session:
    return Session(1, user, "u", wire, connected_at="now", now=trio.current_time())


async def test_an_abandoned_reservation_expires(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(100):
        hub, user = make_hub(), uuid.uuid4()
        first, second = hub.reserve(user), hub.reserve(user)
        assert isinstance(first, int) and isinstance(second, int)
        refusal = hub.reserve(user)
        assert not isinstance(refusal, int) and refusal.code == "too_many_connections"
        await trio.sleep(29)
        hub.tick()
        assert not isinstance(hub.reserve(user), int)  # not yet
        await trio.sleep(2)
        hub.tick()  # their callers timed out and never came back: the slots are free
        assert isinstance(hub.reserve(user), int)
        assert len(hub.reservations) == 1 and hub.reservations.held_by(user) == 1


async def test_release_and_join_give_back_the_reservation(wire: WireStream) -> None:
    # no await below, so nothing to time out (a fail_after here would be inert)
    hub, user = make_hub(), uuid.uuid4()
    released, joined = hub.reserve(user), hub.reserve(user)
    assert isinstance(released, int) and isinstance(joined, int)
    hub.release(released)
    hub.release(released)  # twice is harmless
    hub.join(session_for(wire, user), joined)
    assert len(hub.reservations) == 0 and hub.reservations.held_by(user) == 0
    assert len(hub.sessions) == 1


async def test_after_close_all_reserve_refuses_and_a_late_join_is_closed_1001(
    wire: WireStream,
) -> None:
    # no await below, so nothing to time out (a fail_after here would be inert)
    hub, user = make_hub(), uuid.uuid4()
    reservation = hub.reserve(user)
    assert isinstance(reservation, int)
    assert hub.close_all(1001, "server shutting down") == 0
    refusal = hub.reserve(uuid.uuid4())
    assert not isinstance(refusal, int) and refusal.code == "shutting_down"
    late = session_for(wire, user)
    hub.join(late, reservation)
    assert late.close_code == 1001
    assert not late.deliver(b"\x81\x00")  # no data after the close decision


async def test_a_user_disabled_during_its_handshake_is_closed_4003_on_join(
    wire: WireStream, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(100):
        hub, user = make_hub(), uuid.uuid4()
        reservation = hub.reserve(user)
        assert isinstance(reservation, int)
        assert hub.set_user_active(user, False) == 0
        session = session_for(wire, user)
        hub.join(session, reservation)
        assert session.close_code == 4003
        hub.set_user_active(user, True)
        assert user not in hub.disabled
        hub.set_user_active(user, False)
        await trio.sleep(DISABLED_MEMORY + 1)
        hub.tick()
        assert user not in hub.disabled
