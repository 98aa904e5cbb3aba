"""Bounded mailboxes and the `ActorRef` handle that sends to them.

A mailbox is a Trio memory channel with a finite capacity. The actor's task
reads the `Mailbox`; everyone else holds an `ActorRef`. The mailbox outlives
restarts of the actor that reads it, so a ref stays valid while a supervisor
restarts the actor behind it; it dies when the mailbox is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, final

import trio

from ._errors import ActorGone, CallTimeout, MailboxFull
from ._reply import Reply, _Outcome

__all__ = ["ActorRef", "Mailbox", "MailboxStatistics", "open_mailbox"]

M = TypeVar("M")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MailboxStatistics:
    """A snapshot of one mailbox: how full it is and whether it is closed."""

    name: str
    depth: int
    capacity: int
    closed: bool


def _statistics(name: str, stats: trio.MemoryChannelStatistics) -> MailboxStatistics:
    return MailboxStatistics(
        name=name,
        depth=stats.current_buffer_used,
        capacity=int(stats.max_buffer_size),
        closed=stats.open_receive_channels == 0,
    )


class ActorRef(Generic[M]):
    """The address of an actor: how other tasks send it messages.

    ``cast*`` sends and returns; `call` sends a request and waits for its
    reply, always under a timeout.
    """

    __slots__ = ("_name", "_send")

    def __init__(self, name: str, send: trio.MemorySendChannel[M]) -> None:
        self._name = name
        self._send = send

    @property
    def name(self) -> str:
        """The name given to `open_mailbox`."""
        return self._name

    def __repr__(self) -> str:
        return f"<ActorRef {self._name!r}>"

    def cast_nowait(self, msg: M) -> None:
        """Send `msg` without blocking.

        Raises `MailboxFull` when the mailbox is full (the caller applies its
        overflow policy) and `ActorGone` when the mailbox is closed.
        """
        try:
            self._send.send_nowait(msg)
        except trio.WouldBlock:
            raise MailboxFull(self._name) from None
        except trio.BrokenResourceError:
            raise ActorGone(self._name) from None

    async def cast(self, msg: M) -> None:
        """Send `msg`, waiting for room in the mailbox. Raises `ActorGone`."""
        try:
            await self._send.send(msg)
        except trio.BrokenResourceError:
            raise ActorGone(self._name) from None

    async def call(self, build: Callable[[Reply[T]], M], *, timeout: float) -> T:  # noqa: ASYNC109
        """Send the request ``build(reply)`` and return the actor's answer.

        The whole exchange, waiting for room included, runs under `timeout`
        seconds: `CallTimeout` when it passes, `ActorGone` when the mailbox is
        closed or the request is dropped unanswered, or the exception the
        actor passed to `Reply.fail`.
        """
        send, receive = trio.open_memory_channel[_Outcome[T]](1)
        with receive:
            try:
                with trio.fail_after(timeout):
                    # No local keeps the request alive: dropping it unanswered
                    # must reach the reply's finalizer.
                    await self.cast(build(Reply(send)))
                    outcome = await receive.receive()
            except trio.TooSlowError:
                raise CallTimeout(f"{self._name}: no reply within {timeout} s") from None
            except trio.EndOfChannel:
                raise ActorGone(f"{self._name}: request dropped without a reply") from None
        result: T = outcome.unwrap()
        return result

    def statistics(self) -> MailboxStatistics:
        """A snapshot of the mailbox behind this ref."""
        return _statistics(self._name, self._send.statistics())


class Mailbox(Generic[M]):
    """The receiving end of a mailbox, read by the actor's own task.

    Iterating ends when the mailbox is closed.
    """

    __slots__ = ("_name", "_receive")

    def __init__(self, name: str, receive: trio.MemoryReceiveChannel[M]) -> None:
        self._name = name
        self._receive = receive

    @property
    def name(self) -> str:
        """The name given to `open_mailbox`."""
        return self._name

    def __repr__(self) -> str:
        return f"<Mailbox {self._name!r}>"

    def __aiter__(self) -> Mailbox[M]:
        return self

    async def __anext__(self) -> M:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def receive(self) -> M:
        """Wait for the next message. Raises `trio.ClosedResourceError` if closed."""
        return await self._receive.receive()

    def receive_nowait(self) -> M:
        """Take the next message or raise `trio.WouldBlock` if there is none."""
        return self._receive.receive_nowait()

    async def receive_batch(self, limit: int) -> list[M]:
        """Wait for the next message, then take the ones already waiting behind it, up to
        `limit` in all: an actor that writes to a database or a socket does the work once
        for a burst. Raises `trio.EndOfChannel` or `trio.ClosedResourceError` when closed."""
        batch = [await self._receive.receive()]
        while len(batch) < limit:
            try:
                batch.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        return batch

    def statistics(self) -> MailboxStatistics:
        """A snapshot of this mailbox."""
        return _statistics(self._name, self._receive.statistics())

    def close(self) -> None:
        """Close the mailbox for good: queued messages are dropped.

        Senders get `ActorGone`; callers whose request was queued are woken
        with `ActorGone` as their dropped reply is collected.
        """
        self._receive.close()


@final
class open_mailbox(tuple[ActorRef[M], Mailbox[M]]):  # trio's open_memory_channel idiom
    """Open a bounded mailbox: ``ref, mailbox = open_mailbox[Msg]("hub", 64)``.

    `capacity` must be a positive int: every mailbox is bounded, never
    ``math.inf``. Subscripting gives the message type to the type checker.
    """

    def __new__(cls, name: str, capacity: int) -> tuple[ActorRef[M], Mailbox[M]]:  # type: ignore[misc]
        _check_capacity(capacity)
        send, receive = trio.open_memory_channel[M](capacity)
        return ActorRef(name, send), Mailbox(name, receive)

    def __init__(self, name: str, capacity: int) -> None: ...


def _check_capacity(capacity: object) -> None:
    # bool is an int subclass, and math.inf is a float: both are refused.
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
        raise ValueError(f"mailbox capacity must be a positive int, not {capacity!r}")
