"""The operator's log of what happened: connections the listener dropped or refused, refused
handshakes and closed connections, summed up once per interval instead of a line each (a
flood of them would drown the log).

`Activity` is fed by `Metrics` (the same calls that count them for Prometheus);
`report_activity` writes one INFO line per interval in which anything happened, e.g.

    last 60 s: 1024 connections closed (4009 slow consumer 1000, 4008 rate limited 24);
    2 handshakes refused (forbidden_origin 2)

Only the closes the server forces are counted (not a client leaving, 1000/1001, nor a lost
network, 1006).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import NoReturn

import trio

from ..protocol import CloseCode

log = logging.getLogger("momentum.activity")

#: The closes worth an operator's attention: the ones the server forces, and why (a client
#: leaving, 1000/1001, or its network dropping, 1006, is ordinary).
_FORCED = {
    int(code): code.name.lower().replace("_", " ")
    for code in CloseCode
    if code not in (CloseCode.NORMAL, CloseCode.GOING_AWAY)
}


class Activity:
    """Counts since the last summary; read and reset by `take_summary`."""

    def __init__(self) -> None:
        self._refused: Counter[str] = Counter()
        self._closed: Counter[int] = Counter()
        self._turned_away: Counter[str] = Counter()

    def connection_refused(self, reason: str) -> None:
        """The listener dropped or refused a connection (`wire.Refusal`'s value)."""
        self._turned_away[reason] += 1

    def handshake_refused(self, reason: str) -> None:
        self._refused[reason] += 1

    def connection_closed(self, code: int) -> None:
        if code in _FORCED:
            self._closed[code] += 1

    def take_summary(self) -> str | None:
        """What happened since the last call, as one line (None: nothing)."""
        parts = []
        if self._turned_away:
            why = ", ".join(f"{r} {count}" for r, count in self._turned_away.most_common())
            parts.append(f"{_count(self._turned_away, 'connection')} turned away ({why})")
        if self._closed:
            closes = ", ".join(
                f"{code} {_FORCED[code]} {count}" for code, count in self._closed.most_common()
            )
            parts.append(f"{_count(self._closed, 'connection')} closed by the server ({closes})")
        if self._refused:
            refusals = ", ".join(f"{why} {count}" for why, count in self._refused.most_common())
            parts.append(f"{_count(self._refused, 'handshake')} refused ({refusals})")
        self._refused.clear()
        self._closed.clear()
        self._turned_away.clear()
        return "; ".join(parts) or None


def _count(counter: Counter[str] | Counter[int], noun: str) -> str:
    total = counter.total()
    return f"{total} {noun}{'' if total == 1 else 's'}"


async def report_activity(
    activity: Activity, interval: float, *, task_status: trio.TaskStatus[None]
) -> NoReturn:
    """Log `activity`'s summary every `interval` seconds in which something happened."""
    task_status.started()
    while True:
        await trio.sleep(interval)
        summary = activity.take_summary()
        if summary is not None:
            log.info("last %.0f s: %s", interval, summary)
