"""The application's handle on a client: `open_client`, then calls and events.

Every method is a call to the connection actor (a request with a one-slot reply, awaited
under the request timeout) or an HTTP request; the handle holds no connection state of its
own — it reads the actor's `Status` and receives its events.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from ._book import Book, Reply
from ._connection import ConnectionActor, Status
from ._errors import ClientClosed, RequestFailed, RequestTimeout
from ._events import ConnectionState, Event, RoomJoined, StateChanged
from ._http import base_url, request_json, websocket_url
from ._options import ClientOptions
from ._policy import token_subject
from ._requests import Kind, Request, new_request
from ._session import Links


@dataclass(frozen=True)
class Sent:
    """The server's answer to a message: its id, how many live connections were handed it,
    and whether it is stored (always True for a direct message that `send` returned)."""

    message_id: str
    delivered: int
    stored: bool


@dataclass(frozen=True)
class Published:
    message_id: str
    room_id: str
    offset: int


class Client:
    """A Momentum client; see `open_client`."""

    def __init__(
        self,
        server_url: str,
        book: Book,
        mailbox: trio.MemorySendChannel[Request],
        events: trio.MemoryReceiveChannel[Event],
        status: Status,
        options: ClientOptions,
    ) -> None:
        self._base = base_url(server_url)
        self._book = book  # read here for the current token only; the actor writes it
        self._mailbox = mailbox
        self.events = events
        self._status = status
        self._options = options

    @property
    def user_id(self) -> str:
        return self._book.me

    @property
    def token(self) -> str:
        """The access token in use (the latest refreshed one)."""
        return self._book.token

    @property
    def state(self) -> ConnectionState:
        return self._status.latest.state

    @property
    def last_change(self) -> StateChanged:
        return self._status.latest

    async def wait_connected(self) -> None:
        """Until the client is connected; `ClientClosed` if it stopped for good first."""
        while self._status.latest.state is not ConnectionState.CONNECTED:
            if self._status.latest.final:
                raise ClientClosed(self._status.latest.reason)
            await self._status.changed.wait()

    async def send(
        self, to_user_id: str, data: dict[str, Any], *, message_type: str = "text"
    ) -> Sent:
        """A direct message, returned once the server stored it (`RequestFailed` with the
        server's code otherwise, `RequestTimeout` without an answer in time)."""
        fields = {"to_user_id": to_user_id}
        answer = await self._call("send", message_type, data, **fields)
        return Sent(str(answer["message_id"]), int(answer.get("delivered", 0)), True)

    async def broadcast(self, data: dict[str, Any], *, message_type: str = "text") -> Sent:
        """A message to every online user (live only: never stored)."""
        answer = await self._call("broadcast", message_type, data)
        return Sent(str(answer["message_id"]), int(answer.get("delivered", 0)), False)

    async def join(self, room_id: str) -> RoomJoined:
        """Subscribe to a room; it is recovered from its last offset after every reconnect."""
        answer = await self._call("join", "room_subscribe", {"room_id": room_id})
        for room in answer.get("rooms", []):
            if room.get("room_id") == room_id:
                return RoomJoined(room_id, int(room["offset"]), room.get("recovered") is not False)
        raise RequestFailed("not_subscribed", f"the server's answer does not list {room_id}")

    async def leave(self, room_id: str) -> None:
        await self._call("leave", "room_unsubscribe", {"room_id": room_id})

    async def publish(
        self, room_id: str, data: dict[str, Any], *, message_type: str = "text"
    ) -> Published:
        """A message to a joined room, returned once stored with its offset."""
        body = {"room_id": room_id, "message_type": message_type, "data": data}
        answer = await self._call("publish", "room_publish", body)
        return Published(str(answer["message_id"]), room_id, int(answer["offset"]))

    async def cast_envelope(self, envelope: Any) -> None:
        """Send an envelope as it is, awaiting no answer (acks and errors come as events).

        For tools and experiments: nothing is checked, retried or de-duplicated here.
        """
        reply, unread = trio.open_memory_channel[Reply](1)
        unread.close()
        try:
            with trio.fail_after(self._options.request_timeout):
                await self._mailbox.send(Request("cast", envelope, reply))
        except trio.TooSlowError:
            raise RequestTimeout("the client is not connected") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ClientClosed(self._status.latest.reason) from None

    async def ping(self) -> float:
        """The round trip of a JSON ping, in seconds."""
        started = trio.current_time()
        await self._call("ping", "ping", {})
        return trio.current_time() - started

    async def history(
        self,
        with_user_id: str,
        *,
        limit: int = 50,
        before: str | None = None,
        before_seq: int | None = None,
    ) -> dict[str, Any]:
        """`GET /ws/history` (docs/api.md): `{"messages": [...], "next": {...} | None}`."""
        query: dict[str, Any] = {"with": with_user_id, "limit": limit}
        if before is not None:
            query["before"] = before
            if before_seq is not None:
                query["before_seq"] = before_seq
        page: dict[str, Any] = await self._get(f"/ws/history?{urllib.parse.urlencode(query)}")
        return page

    async def online(self) -> list[dict[str, Any]]:
        """`GET /ws/online`: the users online, `{id, username, connections, connected_since}`."""
        reply = await self._get("/ws/online")
        users: list[dict[str, Any]] = reply["users"]
        return users

    async def _get(self, path: str) -> Any:
        return await request_json("GET", f"{self._base}{path}", token=self.token)

    async def _call(
        self, kind: Kind, message_type: str, data: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        request, receive = new_request(kind, message_type, data, **fields)
        with receive:
            try:
                with trio.fail_after(self._options.request_timeout):
                    await self._mailbox.send(request)
                    reply = await receive.receive()
            except trio.TooSlowError:
                raise RequestTimeout(f"no answer to {message_type} in time") from None
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise ClientClosed(self._status.latest.reason) from None
        if isinstance(reply, RequestFailed):
            if reply.code == "client_stopped":
                raise ClientClosed(self._status.latest.reason)
            raise reply
        answer: dict[str, Any] = reply
        return answer


@asynccontextmanager
async def open_client(
    server_url: str, token: str, options: ClientOptions | None = None
) -> AsyncIterator[Client]:
    """A client of the server at `server_url` (`http://HOST:PORT`), as the user of `token`.

    It connects in the background and stays connected (see `ClientOptions`); read
    `client.events` for messages and state changes. On exit the connection closes (1000).
    """
    options = options or ClientOptions()
    book = Book(token=token, me=token_subject(token))
    mailbox_send, mailbox = trio.open_memory_channel[Request](options.mailbox_size)
    events_send, events = trio.open_memory_channel[Event](options.events_buffer)
    status = Status()
    links = Links(mailbox, events_send)
    actor = ConnectionActor(websocket_url(server_url), book, links, status, options)
    client = Client(server_url, book, mailbox_send, events, status, options)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.run)
        try:
            yield client
        finally:
            nursery.cancel_scope.cancel()
