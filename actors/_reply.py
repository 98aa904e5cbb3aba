"""The one-slot reply channel behind `ActorRef.call`."""

from __future__ import annotations

import contextlib
from typing import Generic, TypeVar

import trio

__all__ = ["Reply"]

T = TypeVar("T")


class _Outcome(Generic[T]):
    """A value or an exception, carried from the actor back to its caller."""

    __slots__ = ("_error", "_value")

    def __init__(self, value: T | None, error: Exception | None) -> None:
        self._value = value
        self._error = error

    def unwrap(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class Reply(Generic[T]):
    """Where an actor answers one `ActorRef.call`.

    A request message carries its `Reply` in a ``reply`` field. The actor
    answers once with `send` or `fail`; both never block and do nothing when
    the caller already left (timeout or cancellation). A reply dropped without
    an answer (the request was discarded or the actor stopped while holding
    it) wakes the caller with `ActorGone` instead of leaving it waiting for its
    timeout.
    """

    __slots__ = ("_channel", "_done", "_token")

    def __init__(self, channel: trio.MemorySendChannel[_Outcome[T]]) -> None:
        self._channel = channel
        self._done = False
        self._token = trio.lowlevel.current_trio_token()

    def send(self, value: T) -> None:
        """Answer the call with `value`."""
        self._answer(_Outcome(value, None))

    def fail(self, exc: Exception) -> None:
        """Answer the call by making the caller raise `exc`."""
        self._answer(_Outcome(None, exc))

    def _answer(self, outcome: _Outcome[T]) -> None:
        if self._done:
            return
        self._done = True
        # BrokenResourceError: the caller left; nobody is waiting for this answer.
        with contextlib.suppress(trio.BrokenResourceError):
            self._channel.send_nowait(outcome)
        self._channel.close()

    def __del__(self) -> None:
        # The garbage collector may run in any thread; the token is the
        # thread-safe way back into Trio to close the channel.
        if getattr(self, "_done", True):
            return
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(self._channel.close)
