"""The front's counts: unfinished heads (oldest dropped first) and connections per address.

Rules: no sockets; Trio's autojump clock for the age of a head; each test under
`trio.fail_after`.
"""

from __future__ import annotations

import trio
import trio.testing

from momentum.wire import ConnectionLimits, Refusal, TrustedProxies
from momentum.wire._limits import FRESH_HEAD, ConnectionTally, PendingHeads, Slot

LIMITS = ConnectionLimits(pending_heads=4, pending_heads_per_ip=2)


async def test_a_peer_over_its_share_loses_its_oldest_head_once_it_is_not_fresh(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        heads = PendingHeads(LIMITS, exempt=TrustedProxies().trusts)
        first, _ = heads.admit("10.0.0.1")
        heads.admit("10.0.0.1")
        burst, dropped = heads.admit("10.0.0.1")  # all fresh: a burst, nobody is slow yet
        assert dropped is None and not first.scope.cancel_called
        await trio.sleep(FRESH_HEAD)
        _, dropped = heads.admit("10.0.0.1")
        assert dropped is Refusal.PENDING_HEADS_PER_IP and first.scope.cancel_called
        other, dropped = heads.admit("10.0.0.2")
        assert dropped is None
        _, dropped = heads.admit("10.0.0.3")  # the cap: the oldest of anyone makes room
        assert dropped is Refusal.PENDING_HEADS
        assert not burst.scope.cancel_called and not other.scope.cancel_called


async def test_a_trusted_proxy_has_no_share_only_the_cap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        heads = PendingHeads(LIMITS, exempt=TrustedProxies.parse("10.0.0.9").trusts)
        tickets = [heads.admit("10.0.0.9") for _ in range(4)]
        await trio.sleep(FRESH_HEAD)
        assert all(dropped is None for _, dropped in tickets)
        _, dropped = heads.admit("10.0.0.9")
        assert dropped is Refusal.PENDING_HEADS
        for ticket, _ in tickets:  # released twice (the dropped one too): no harm
            ticket.release()
            ticket.release()


def test_a_tally_refuses_past_a_share_then_past_the_total_and_frees_on_release() -> None:
    tally = ConnectionTally(
        per_client=1, total=2, over_client=Refusal.HTTP_PER_IP, over_total=Refusal.HTTP_FULL
    )
    a = tally.take("a")
    assert isinstance(a, Slot)
    assert tally.take("a") is Refusal.HTTP_PER_IP
    assert isinstance(tally.take("b"), Slot)
    assert tally.take("c") is Refusal.HTTP_FULL
    a.release()
    a.release()
    assert tally.count == 1
    assert isinstance(tally.take("a"), Slot)
