"""The password-hashing queue: a few hashes at a time, logins first, a bounded wait.

argon2 is slow on purpose, so hashes run a few at a time (`concurrency`). Whoever waits
beyond that waits in one of two lines: logins (and password changes), then sign-ups. A
freed slot goes to the first login waiting, and only to a sign-up when no login waits; and
sign-ups never hold every slot (with two or more), so a flood of sign-ups leaves a login a
slot of its own. Each line is bounded; a request past the bound is refused at once
(`HashQueueFull`) instead of queueing for ever.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

DEFAULT_CONCURRENCY = 2
DEFAULT_LOGIN_WAITING = 64
DEFAULT_SIGNUP_WAITING = 8


class Priority(enum.IntEnum):
    """Which line a hash waits in; lower goes first."""

    LOGIN = 0
    SIGNUP = 1


class HashQueueFull(Exception):
    """Too many hashes of this priority are waiting already."""

    def __init__(self, priority: Priority) -> None:
        super().__init__(f"too many {priority.name.lower()} hashes waiting")
        self.priority = priority


@dataclass(frozen=True, slots=True)
class HashQueueStats:
    running: int
    waiting_logins: int
    waiting_signups: int


class HashQueue:
    """`concurrency` slots handed out by priority, each line at most `max_waiting[p]` long.

    Sign-ups hold at most `concurrency - 1` slots (all of them only when there is one), so
    with two slots or more a login never waits for a sign-up's hash to finish.
    """

    __slots__ = ("_concurrency", "_lines", "_max_waiting", "_running", "_signup_slots")

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        max_logins_waiting: int = DEFAULT_LOGIN_WAITING,
        max_signups_waiting: int = DEFAULT_SIGNUP_WAITING,
    ) -> None:
        if concurrency < 1 or max_logins_waiting < 0 or max_signups_waiting < 0:
            raise ValueError("a hash queue needs concurrency >= 1 and waiting limits >= 0")
        self._concurrency = concurrency
        self._signup_slots = max(1, concurrency - 1)
        self._max_waiting = {
            Priority.LOGIN: max_logins_waiting,
            Priority.SIGNUP: max_signups_waiting,
        }
        self._lines: dict[Priority, deque[trio.Event]] = {p: deque() for p in Priority}
        self._running = dict.fromkeys(Priority, 0)

    def statistics(self) -> HashQueueStats:
        return HashQueueStats(
            sum(self._running.values()),
            len(self._lines[Priority.LOGIN]),
            len(self._lines[Priority.SIGNUP]),
        )

    @asynccontextmanager
    async def slot(self, priority: Priority) -> AsyncIterator[None]:
        """Hold one hashing slot; raises `HashQueueFull` at once if the line is full."""
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release(priority)

    def _may_start(self, priority: Priority) -> bool:
        if sum(self._running.values()) >= self._concurrency:
            return False
        return priority is Priority.LOGIN or self._running[priority] < self._signup_slots

    async def _acquire(self, priority: Priority) -> None:
        ahead = any(self._lines[p] for p in Priority if p <= priority)
        if not ahead and self._may_start(priority):
            self._running[priority] += 1
            await trio.lowlevel.checkpoint()
            return
        line = self._lines[priority]
        if len(line) >= self._max_waiting[priority]:
            raise HashQueueFull(priority)
        handed = trio.Event()
        line.append(handed)
        try:
            await handed.wait()
        except BaseException:
            if handed.is_set():  # the slot came with the cancellation: give it back
                self._release(priority)
            else:
                line.remove(handed)
            raise

    def _release(self, priority: Priority) -> None:
        self._running[priority] -= 1
        for waiting in Priority:  # in priority order
            line = self._lines[waiting]
            while line and self._may_start(waiting):
                self._running[waiting] += 1
                line.popleft().set()
