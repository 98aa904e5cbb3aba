"""The SDK's connection states and reconnect schedule, against a fake socket.

Rules: a fake connector (tests/sdk/_fake.py) plays the server; Trio's `autojump_clock`, so
times are exact; the jitter's random source is seeded and the expected delays are drawn from
a twin of it; an outer `trio.fail_after` in every test.
"""

from __future__ import annotations

import itertools
import random

import pytest
import trio
import trio.testing

from momentum.sdk import (
    Backoff,
    ClientClosed,
    ConnectionState,
    HandshakeRefused,
    ServerUnreachable,
    StateChanged,
    open_client,
)
from momentum.sdk._policy import after_close, refresh_delay

from ._fake import BASE_URL, FakeConnector, fake_token, options_for

CONNECTING, CONNECTED, DISCONNECTED = (
    ConnectionState.CONNECTING,
    ConnectionState.CONNECTED,
    ConnectionState.DISCONNECTED,
)


async def states(client_events: trio.MemoryReceiveChannel[object]) -> list[StateChanged]:
    return [event async for event in client_events if isinstance(event, StateChanged)]


def test_full_jitter_stays_within_the_capped_exponential() -> None:
    backoff = Backoff(base=0.5, cap=8.0)
    rng = random.Random(1)
    for attempt in range(12):
        ceiling = min(8.0, 0.5 * 2**attempt)
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.9  # full jitter: the whole window, not half of it
        assert min(delays) < ceiling * 0.1


def test_refresh_comes_before_expiry() -> None:
    assert refresh_delay(1000.0, 100.0, 60.0) == 840.0
    assert refresh_delay(1000.0, 960.0, 60.0) == 20.0  # half the remaining life
    assert refresh_delay(1000.0, 1100.0, 60.0) == 0.0


def test_close_codes_decide_the_next_step() -> None:
    assert after_close(4003, "", can_refresh=True).final
    assert after_close(4001, "", can_refresh=False).final
    step = after_close(4001, "token revoked", can_refresh=True)
    assert step.refresh and not step.final and step.close_code == 4001
    assert not after_close(1012, "service restart", can_refresh=False).final
    assert not after_close(None, "", can_refresh=False).final


async def test_reconnect_schedule_is_full_jitter_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        unreachable = [ServerUnreachable("refused") for _ in range(4)]
        connector = FakeConnector(outcomes=[*unreachable])
        options = options_for(connector, backoff=Backoff(base=1.0, cap=5.0))
        twin, backoff = random.Random(7), Backoff(base=1.0, cap=5.0)
        expected, at = [], trio.current_time()
        for attempt in range(5):
            expected.append(at)
            at += backoff.delay(attempt, twin) if attempt < 4 else 0
        async with open_client(BASE_URL, fake_token(), options) as client:
            await client.wait_connected()
            assert [when for when, _ in connector.attempts] == pytest.approx(expected)
            socket = await connector.accepted.receive()
            assert socket.offers == ["momentum", f"bearer.{fake_token()}"]
            changes: list[StateChanged] = []
            while len(changes) < 10:
                event = await client.events.receive()
                if isinstance(event, StateChanged):
                    changes.append(event)
        assert [c.state for c in changes] == [CONNECTING, DISCONNECTED] * 4 + [
            CONNECTING,
            CONNECTED,
        ]
        retries = [c.retry_in for c in changes if c.state is DISCONNECTED]
        assert retries == pytest.approx([b - a for a, b in itertools.pairwise(expected)])
        assert all("refused; reconnecting" in c.reason for c in changes if c.state is DISCONNECTED)


async def test_the_schedule_starts_again_after_a_connection_that_opened(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        connector = FakeConnector(outcomes=[None, ServerUnreachable("down"), None])
        options = options_for(connector, backoff=Backoff(base=1.0, cap=5.0))
        twin = random.Random(7)
        async with open_client(BASE_URL, fake_token(), options) as client:
            socket = await connector.accepted.receive()
            closed_at = trio.current_time()
            socket.server_close(1012, "service restart: reconnect")
            await connector.accepted.receive()
            await client.wait_connected()
        first, second = Backoff(1.0, 5.0).delay(0, twin), Backoff(1.0, 5.0).delay(1, twin)
        times = [when for when, _ in connector.attempts]
        assert times[1:] == pytest.approx([closed_at + first, closed_at + first + second])


async def test_close_4003_stops_for_good_and_says_why(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        connector = FakeConnector()
        async with open_client(BASE_URL, fake_token(), options_for(connector)) as client:
            socket = await connector.accepted.receive()
            socket.server_close(4003, "user disabled")
            changes = await states(client.events)
            assert changes[-1].final and changes[-1].close_code == 4003
            assert "the user is disabled" in changes[-1].reason
            assert len(connector.attempts) == 1
            with pytest.raises(ClientClosed):
                await client.wait_connected()
            with pytest.raises(ClientClosed):
                await client.send("someone", {"content": "late"})


async def test_close_4001_without_refresh_stops(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        connector = FakeConnector()
        async with open_client(BASE_URL, fake_token(), options_for(connector)) as client:
            socket = await connector.accepted.receive()
            socket.server_close(4001, "token expired")
            final = (await states(client.events))[-1]
            assert final.final and final.close_code == 4001
            assert "no token refresh is possible" in final.reason


async def test_close_4001_with_refresh_reconnects_with_the_new_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        connector = FakeConnector()
        fresh = fake_token(tag="fresh")

        async def refresh() -> str:
            return fresh

        options = options_for(connector, refresh_token=refresh)
        async with open_client(BASE_URL, fake_token(), options) as client:
            socket = await connector.accepted.receive()
            socket.server_close(4001, "token expired")
            again = await connector.accepted.receive()
            assert again.offers == ["momentum", f"bearer.{fresh}"]
            await client.wait_connected()


async def test_a_refused_token_is_refreshed_once_then_the_client_stops(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        refused = [HandshakeRefused(401, "token_expired", "expired") for _ in range(3)]
        connector = FakeConnector(outcomes=[*refused])
        calls = []

        async def refresh() -> str:
            calls.append(trio.current_time())
            return fake_token(tag=str(len(calls)))

        options = options_for(connector, refresh_token=refresh)
        async with open_client(BASE_URL, fake_token(), options) as client:
            final = (await states(client.events))[-1]
        assert final.final and "token_expired" in final.reason
        assert len(calls) == 1 and len(connector.attempts) == 2


async def test_a_disabled_user_is_not_retried_but_a_full_server_is(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        connector = FakeConnector(
            outcomes=[
                HandshakeRefused(503, "server_full", "full"),
                HandshakeRefused(403, "user_disabled", "disabled"),
            ]
        )
        async with open_client(BASE_URL, fake_token(), options_for(connector)) as client:
            changes = await states(client.events)
        assert [c.final for c in changes if c.state is DISCONNECTED] == [False, True]
        assert "user_disabled" in changes[-1].reason and len(connector.attempts) == 2


async def test_attempts_run_out(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(600):
        connector = FakeConnector(outcomes=[ServerUnreachable("down") for _ in range(5)])
        options = options_for(connector, backoff=Backoff(max_attempts=3))
        async with open_client(BASE_URL, fake_token(), options) as client:
            final = (await states(client.events))[-1]
        assert final.final and "3 attempts failed" in final.reason
        assert len(connector.attempts) == 4  # the first try and three retries


async def test_closing_the_client_is_the_last_state(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        connector = FakeConnector()
        async with open_client(BASE_URL, fake_token(), options_for(connector)) as client:
            await client.wait_connected()
            events = client.events
        assert client.state is DISCONNECTED and client.last_change.final
        remaining = [event async for event in events]
        assert isinstance(remaining[-1], StateChanged) and remaining[-1].reason == "closed"
