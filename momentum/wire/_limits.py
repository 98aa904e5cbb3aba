"""Who may hold a socket: pending request heads, and open connections per client address.

Both are counted by the front listener, which owns them; each connection's task gets a
narrow handle (a `HeadTicket`, a `Slot`) whose release is idempotent. Slow peers are dropped
oldest first: a flood of unfinished heads (slowloris) costs its own sockets, not the newest
connection, which is most likely a client that sends its head at once.

A peer's share of unfinished heads only drops heads older than `FRESH_HEAD`: a burst of
connections opened at once from one address (a NAT, a load tool) is accepted faster than
their heads are read, and none of them is slow yet.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import trio

#: An unfinished head younger than this is never dropped for its peer's share.
FRESH_HEAD = 1.0


class Refusal(enum.Enum):
    """Why the front dropped or refused a connection (the `reason` label of the metric)."""

    #: a peer already had its share of unfinished heads: its oldest one was dropped
    PENDING_HEADS_PER_IP = "pending_heads_per_ip"
    #: the process had its share of unfinished heads: the oldest one was dropped
    PENDING_HEADS = "pending_heads"
    WEBSOCKET_PER_IP = "websocket_per_ip"
    HTTP_PER_IP = "http_per_ip"
    HTTP_FULL = "http_full"


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The front's limits (docs/operations.md names their settings)."""

    pending_heads: int = 1024
    pending_heads_per_ip: int = 16
    websocket_per_ip: int = 256
    http_per_ip: int = 64
    http_total: int = 1024


class HeadTicket:
    """One accepted connection still reading its request head. Cancelling `scope` drops it."""

    __slots__ = ("_heads", "peer", "scope", "serial", "since")

    def __init__(self, heads: PendingHeads, peer: str, serial: int) -> None:
        self._heads = heads
        self.peer = peer
        self.serial = serial
        self.since = trio.current_time()
        self.scope = trio.CancelScope()

    def release(self) -> None:
        self._heads.forget(self)


class PendingHeads:
    """The connections still sending their request head, oldest first, by peer address.

    `exempt` peers (trusted proxies, which finish a head before they forward it) have no
    per-peer share; every peer counts toward the total.
    """

    def __init__(self, limits: ConnectionLimits, *, exempt: Callable[[str], bool]) -> None:
        self._total = limits.pending_heads
        self._per_peer = limits.pending_heads_per_ip
        self._exempt = exempt
        self._all: dict[int, HeadTicket] = {}  # insertion order: the oldest first
        self._by_peer: dict[str, dict[int, HeadTicket]] = {}
        self._serial = 0

    def __len__(self) -> int:
        return len(self._all)

    def admit(self, peer: str) -> tuple[HeadTicket, Refusal | None]:
        """A ticket for a new connection from `peer`, making room by dropping the oldest
        pending head of that peer, or else of anyone, when a limit is reached."""
        dropped = None
        mine = self._by_peer.get(peer, {})
        oldest = next(iter(mine.values()), None)
        if (
            oldest is not None
            and len(mine) >= self._per_peer
            and trio.current_time() - oldest.since >= FRESH_HEAD
            and not self._exempt(peer)
        ):
            self._drop(oldest)
            dropped = Refusal.PENDING_HEADS_PER_IP
        if len(self._all) >= self._total:
            self._drop(next(iter(self._all.values())))
            dropped = Refusal.PENDING_HEADS
        self._serial += 1
        ticket = HeadTicket(self, peer, self._serial)
        self._all[ticket.serial] = ticket
        self._by_peer.setdefault(peer, {})[ticket.serial] = ticket
        return ticket, dropped

    def forget(self, ticket: HeadTicket) -> None:
        if self._all.pop(ticket.serial, None) is None:
            return
        mine = self._by_peer[ticket.peer]
        del mine[ticket.serial]
        if not mine:
            del self._by_peer[ticket.peer]

    def _drop(self, ticket: HeadTicket) -> None:
        self.forget(ticket)
        ticket.scope.cancel()


class Slot:
    """One open connection counted against its client address; `release` gives it back."""

    __slots__ = ("_client", "_tally")

    def __init__(self, tally: ConnectionTally | None, client: str) -> None:
        self._tally = tally
        self._client = client

    def release(self) -> None:
        if self._tally is not None:
            self._tally.give_back(self._client)
            self._tally = None


class ConnectionTally:
    """Open connections of one kind, by client address, with a share per address and an
    optional total."""

    def __init__(
        self, *, per_client: int, total: int | None, over_client: Refusal, over_total: Refusal
    ) -> None:
        self._per_client = per_client
        self._total = total
        self._over_client = over_client
        self._over_total = over_total
        self._open: dict[str, int] = {}
        self.count = 0

    def take(self, client: str) -> Slot | Refusal:
        held = self._open.get(client, 0)
        if held >= self._per_client:
            return self._over_client
        if self._total is not None and self.count >= self._total:
            return self._over_total
        self._open[client] = held + 1
        self.count += 1
        return Slot(self, client)

    def give_back(self, client: str) -> None:
        self.count -= 1
        left = self._open[client] - 1
        if left:
            self._open[client] = left
        else:
            del self._open[client]
