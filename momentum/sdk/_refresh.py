"""Keeping a live connection's token fresh: a new token from the application's callback,
handed to the server in-band (`auth`) before the old one expires (docs/protocol.md#auth)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from ._book import Book, Reply
from ._errors import RequestFailed
from ._events import Event, ServerError
from ._options import ClientOptions
from ._policy import SECONDS, refresh_delay, token_expiry
from ._requests import Request, new_request

#: How long to wait before asking the application again when its callback failed.
RETRY_AFTER = 5 * SECONDS
#: The answers of a server that does not know the `auth` message: the new token is then used
#: at the next connection (the old one's expiry closes this one with 4001).
NOT_SUPPORTED = frozenset({"unknown_type", "forbidden_type"})

Call = Callable[[Request, trio.MemoryReceiveChannel[Reply]], Awaitable[Reply]]


async def keep_token_fresh(
    book: Book, call: Call, events: trio.MemorySendChannel[Event], options: ClientOptions
) -> None:
    """Refresh before each expiry until the session ends (or the server cannot take it)."""
    assert options.refresh_token is not None
    while True:
        expires_at = token_expiry(book.token)
        if expires_at is None:
            return
        await trio.sleep(refresh_delay(expires_at, options.clock(), options.refresh_before))
        try:
            book.token = await options.refresh_token()
        except Exception as exc:  # the application's callback: say it, try again later
            await events.send(ServerError("token_refresh_failed", repr(exc), {}))
            await trio.sleep(RETRY_AFTER)
            continue
        reply = await _hand_over(book.token, call)
        if isinstance(reply, RequestFailed):
            if reply.code in NOT_SUPPORTED:
                return
            await events.send(ServerError(reply.code, reply.message, {}))
        if (token_expiry(book.token) or 0) <= expires_at:
            await trio.sleep(RETRY_AFTER)  # no later expiry than before: do not spin


async def _hand_over(token: str, call: Call) -> Reply:
    request, receive = new_request("auth", "auth", {"token": token})
    try:
        return await call(request, receive)
    except trio.TooSlowError:
        return RequestFailed("timeout", "no answer to the in-band token")
