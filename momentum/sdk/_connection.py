"""The connection actor: connect, run a session, and reconnect until there is no point.

It owns the client's state: the `Book` (calls, ids seen, room offsets, the token) and the
connection state, which it announces as `StateChanged` events and mirrors in `Status` for
the application to read. Supervision: a session is a temporary; when it ends the actor
decides (`_policy`) whether to come back — after a full-jitter backoff — or to stop, and
says why either way. `Cancelled` (the application closing) always propagates.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import trio

from ._book import Book, answer
from ._errors import HandshakeRefused, RequestFailed, ServerUnreachable
from ._events import ConnectionState, StateChanged
from ._options import ClientOptions
from ._policy import Step, after_close, after_refusal
from ._requests import Request
from ._session import Links, run_session
from ._socket import SUBPROTOCOLS

CONNECTION_LOST = RequestFailed("connection_lost", "the connection closed before the answer")
CLIENT_STOPPED = RequestFailed("client_stopped", "the client stopped")


class Status:
    """The latest state, written by the actor only; `changed` is set at each change."""

    def __init__(self) -> None:
        self.latest = StateChanged(ConnectionState.DISCONNECTED, "not started")
        self.changed = trio.Event()

    def publish(self, event: StateChanged) -> None:
        self.latest = event
        self.changed.set()
        self.changed = trio.Event()


class ConnectionActor:
    def __init__(
        self, url: str, book: Book, links: Links, status: Status, options: ClientOptions
    ) -> None:
        self._url = url
        self._book = book
        self._links = links
        self._status = status
        self._options = options

    async def run(self) -> None:
        """Connect and reconnect until a final step (or cancellation); then close the events."""
        try:
            await self._stay_connected()
        finally:
            if not self._status.latest.final:  # cancelled: the application closed the client
                closed = StateChanged(ConnectionState.DISCONNECTED, "closed", final=True)
                self._status.publish(closed)
                with contextlib.suppress(trio.WouldBlock, trio.BrokenResourceError):
                    self._links.events.send_nowait(closed)
            self._book.calls.fail_all(CLIENT_STOPPED)
            _refuse_waiting(self._links.mailbox)
            self._links.events.close()

    async def _stay_connected(self) -> None:
        attempt, refreshed = 0, False
        while True:
            await self._announce(StateChanged(ConnectionState.CONNECTING))
            step, connected = await self._connect_once(refreshed)
            attempt = 0 if connected else attempt
            refreshed = False
            if not step.final and not self._options.reconnect:
                step = replace(step, reason=f"{step.reason}; not reconnecting", final=True)
            if not step.final and self._options.backoff.exhausted(attempt):
                step = replace(step, reason=f"{step.reason}; {attempt} attempts failed", final=True)
            if not step.final and step.refresh:
                step, refreshed = await self._refresh(step)
            if step.final:
                await self._announce(_stopped(step))
                return
            delay = self._options.backoff.delay(attempt, self._options.rng)
            attempt += 1
            await self._announce(_lost(step, delay))
            await trio.sleep(delay)

    async def _connect_once(self, refreshed: bool) -> tuple[Step, bool]:
        """One connection, run until it ends: what to do next, and whether it had opened."""
        offers = [SUBPROTOCOLS[self._options.wire_format], f"bearer.{self._book.token}"]
        can_refresh = self._options.refresh_token is not None
        try:
            async with self._options.connector(self._url, offers) as socket:
                await self._announce(StateChanged(ConnectionState.CONNECTED))
                resend = self._book.calls.after_disconnect(CONNECTION_LOST)
                closed = await run_session(socket, self._book, self._links, self._options, resend)
        except HandshakeRefused as refused:
            return after_refusal(refused, can_refresh=can_refresh, refreshed=refreshed), False
        except ServerUnreachable as exc:
            return Step(str(exc), error=exc), False
        self._book.calls.after_disconnect(CONNECTION_LOST)
        return after_close(closed.code, closed.reason, can_refresh=can_refresh), True

    async def _refresh(self, step: Step) -> tuple[Step, bool]:
        assert self._options.refresh_token is not None
        try:
            self._book.token = await self._options.refresh_token()
        except Exception as exc:  # the application's callback
            failed = f"{step.reason}; the token refresh failed: {exc}"
            return replace(step, reason=failed, final=True, refresh=False), False
        return step, True

    async def _announce(self, event: StateChanged) -> None:
        self._status.publish(event)
        await self._links.events.send(event)


def _lost(step: Step, delay: float) -> StateChanged:
    return _disconnected(step, f"{step.reason}; reconnecting", delay)


def _stopped(step: Step) -> StateChanged:
    return _disconnected(step, step.reason, None)


def _disconnected(step: Step, reason: str, retry_in: float | None) -> StateChanged:
    return StateChanged(
        ConnectionState.DISCONNECTED,
        reason,
        step.close_code,
        retry_in,
        final=retry_in is None,
        close_reason=step.close_reason,
        error=step.error,
    )


def _refuse_waiting(mailbox: trio.MemoryReceiveChannel[Request]) -> None:
    """Answer the requests still in the mailbox, then close it: later ones fail at once."""
    while True:
        try:
            request = mailbox.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            break
        answer(request.reply, CLIENT_STOPPED)
    mailbox.close()
