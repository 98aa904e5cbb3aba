"""Slowloris on a real server: unfinished request heads must not lock anyone else out.

The attack reproduced: ~1,030 unfinished request heads, reopened as they time out (~100
connects/s), blocked 47 of 50 legitimate /health probes and every /ws handshake — the
process-wide cap on pending heads was full of the attacker's, and every new connection was
closed at once. Now a peer has a share of unfinished heads, and at either limit the oldest
head is dropped to make room, never the newest.

Rules: a real server on port 0 and real sockets (clients bound to distinct 127.x addresses:
Linux routes all of 127/8 to loopback), an in-memory store and Trio's autojump clock, as in
test_timing.py: the attack runs for seconds of virtual time, and a probe must be answered
whatever the clock does meanwhile. The limits are scaled down (a pending cap of 64 or 256
instead of 1024, a share of 4 instead of 16) so that the attack needs hundreds of sockets,
not thousands.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio.testing

from tests._memory_store import MemoryStore

from ._live import LiveServer, open_live_server, settings_for
from ._raw import RawClient, http_request, open_raw, refused_counts

ATTACK_SECONDS = 6.5
CONNECTS_PER_SECOND = 100


@asynccontextmanager
async def attacked_server(pending_cap: int) -> AsyncIterator[LiveServer]:
    settings = settings_for(
        "sqlite:///:memory:",
        handshake_timeout=10.0,
        max_pending_handshakes=pending_cap,
        max_pending_heads_per_ip=4,
    )
    async with open_live_server(settings, store=MemoryStore()) as live:
        yield live


async def slowloris(port: int, sources: list[str], held: list[RawClient]) -> None:
    """Open connections that send half a request head, at CONNECTS_PER_SECOND."""
    until = trio.current_time() + ATTACK_SECONDS
    n = 0
    while trio.current_time() < until:
        raw = await open_raw(port, source=sources[n % len(sources)])
        with contextlib.suppress(trio.BrokenResourceError):  # dropped already: go on
            await raw.stream.send_all(b"GET /health HTTP/1.1\r\nHost: test\r\n")
        held.append(raw)
        n += 1
        await trio.sleep(1 / CONNECTS_PER_SECOND)


async def probe_while_attacked(server: LiveServer, sources: list[str]) -> tuple[int, int, int]:
    """Run the attack; meanwhile probe /health and open a WebSocket from another address.
    Return (probes answered 200, probes made, WebSocket handshakes that got 101)."""
    user = await server.create_user()
    held: list[RawClient] = []
    answered = probes = upgraded = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(slowloris, server.port, sources, held)
        await trio.sleep(3.0)  # the pending cap is full of the attacker's heads by now
        while probes < 12:
            probe = await open_raw(server.port, source="127.0.0.2")
            async with probe.stream:
                answer = await http_request(probe, "/health")
            probes += 1
            answered += answer is not None and answer.status == 200
            ws = await open_raw(server.port, source="127.0.0.2")
            async with ws.stream:
                try:
                    head = await ws.handshake(server.port, server.token(user))
                except (EOFError, trio.BrokenResourceError):
                    head = b""
            upgraded += head.startswith(b"HTTP/1.1 101")
            await trio.sleep(0.25)
    for raw in held:
        await raw.stream.aclose()
    return answered, probes, upgraded


async def test_slow_heads_from_one_address_do_not_lock_others_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # 100 connects/s, each head held up to the 10 s head timeout: 256 pending after 2.6 s,
    # where the attacker's share (4, plus those younger than 1 s) keeps it far below.
    with trio.fail_after(120):
        async with attacked_server(256) as server:
            answered, probes, upgraded = await probe_while_attacked(server, ["127.0.0.1"])
            assert (answered, upgraded) == (probes, probes)
            dropped = await refused_counts(server.port)
            assert dropped.get("pending_heads_per_ip", 0) > 0, dropped


async def test_slow_heads_from_many_addresses_do_not_lock_others_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # 100 addresses, each within its share: only the process-wide cap is reached, and the
    # oldest head is dropped to make room for the newest.
    sources = [f"127.0.1.{n}" for n in range(1, 101)]
    with trio.fail_after(120):
        async with attacked_server(64) as server:
            answered, probes, upgraded = await probe_while_attacked(server, sources)
            assert (answered, upgraded) == (probes, probes)
            dropped = await refused_counts(server.port)
            assert dropped.get("pending_heads", 0) > 0
            assert dropped.get("pending_heads_per_ip", 0) == 0
