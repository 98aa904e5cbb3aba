"""One connected session of the interactive client: commands out, messages in, as text.

Terminal I/O is not here: a session writes finished lines to `out` and is handed parsed
commands, so tests drive it against a real server and read what it printed. Each line of an
incoming message carries the message's own time (its envelope's `timestamp`), so a stored
message replayed on connect shows when it was sent, not when it arrived.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import trio_websocket
from trio_websocket import WebSocketConnection

from ._commands import (
    HELP,
    Command,
    Help,
    Invalid,
    Join,
    Leave,
    Online,
    Ping,
    Quit,
    Say,
    Send,
    SendJson,
    Stats,
)
from ._directory import Directory
from ._display import clock, presence_line
from ._http import ToolError, base_url, request_json
from ._identity import Credentials
from ._server_stats import format_server_stats
from ._ws import decode, encode

Out = Callable[[str], None]


class ClientSession:
    """A connection's commands and incoming messages; `closing` once the user quit."""

    def __init__(self, ws: WebSocketConnection, me: Credentials, server_url: str, out: Out) -> None:
        self.ws = ws
        self.me = me
        self.out = out
        self.closing = False
        self._base = base_url(server_url)
        self.names = Directory(str(me.user_id), me.username, self._online_users)
        self._pings: dict[str, int] = {}
        self._mine: dict[str, dict[str, Any]] = {}  # what we sent, by id, until its ack

    # -- outgoing ------------------------------------------------------------------------

    async def execute(self, command: Command) -> bool:
        """Run one command; False when the session should end (quit)."""
        match command:
            case Quit():
                self.closing = True
                await self.ws.aclose(1000, "bye")
                return False
            case Help():
                self.out(HELP)
            case Invalid(reason):
                self.out(f"? {reason}")
            case Ping():
                await self._ping()
            case Send():
                await self._send(command)
            case Join(room_id):
                await self._room_request("room_subscribe", {"room_id": room_id})
            case Leave(room_id):
                await self._room_request("room_unsubscribe", {"room_id": room_id})
            case Say(room_id, content):
                body = {"room_id": room_id, "data": {"content": content}}
                await self._room_request("room_publish", body)
            case SendJson(envelope):
                if isinstance(envelope, dict) and isinstance(envelope.get("id"), str):
                    self._mine[envelope["id"]] = envelope
                await self.ws.send_message(encode(self.ws, envelope))
            case Online():
                await self._show_online()
            case Stats():
                await self._show_stats()
        return True

    async def _send(self, command: Send) -> None:
        to: str | None = None
        if command.to is not None:
            to = await self._resolve(command.to)
            if to is None:
                self.out(f"? no online user named {command.to!r}; give their id to reach them")
                return
        message_id = str(uuid.uuid4())
        envelope = {
            "id": message_id,
            "message_type": command.message_type,
            "data": {"content": command.content},
            "to_user_id": to,
        }
        self._mine[message_id] = envelope
        await self.ws.send_message(encode(self.ws, envelope))

    async def _room_request(self, kind: str, data: dict[str, Any]) -> None:
        message_id = str(uuid.uuid4())
        envelope = {"id": message_id, "message_type": kind, "data": data}
        self._mine[message_id] = envelope
        await self.ws.send_message(encode(self.ws, envelope))

    async def _ping(self) -> None:
        ping_id = str(uuid.uuid4())
        self._pings[ping_id] = time.perf_counter_ns()
        await self.ws.send_message(encode(self.ws, {"id": ping_id, "message_type": "ping"}))

    async def _resolve(self, who: str) -> str | None:
        """A user id for `who`: an id as is, else a name seen or among the users online."""
        try:
            return str(uuid.UUID(who))
        except ValueError:
            return await self.names.find(who)

    async def _get(self, path: str) -> Any:
        try:
            return await request_json("GET", f"{self._base}{path}", token=self.me.token)
        except ToolError as exc:
            self.out(f"! GET {path} failed: {exc}")
            return None

    async def _online_users(self) -> list[dict[str, Any]] | None:
        reply = await self._get("/ws/online")
        return reply["users"] if reply else None

    async def _show_online(self) -> None:
        reply = await self._get("/ws/online")
        if reply is None:
            return
        lines = [f"{reply['count']} user(s) online:"]
        for user in reply["users"]:
            self.names.learn(user["id"], user["username"])
            lines.append(
                f"  {user['username']:<24} {user['id']}  {user['connections']} connection(s)"
                f" since {user['connected_since']}"
            )
        self.out("\n".join(lines))

    async def _show_stats(self) -> None:
        reply = await self._get("/ws/stats")
        if isinstance(reply, dict):
            self.out("server statistics:\n" + format_server_stats(reply))

    # -- incoming ------------------------------------------------------------------------

    async def receive_forever(self) -> None:
        """Print every message until the connection closes (for whatever reason).

        Direct messages to us are acknowledged as they are shown, so the server drops its
        stored copy and does not replay them on the next connect. Names are looked up first:
        everyone online as the session starts, and a sender not known yet as it appears.
        """
        try:
            await self.names.refresh()
            while True:
                raw = await self.ws.get_message()
                message = _parse(raw)
                sender = message.get("from_user_id") if message else None
                if isinstance(sender, str) and not self.names.knows(sender):
                    await self.names.look_up(sender)
                line = self.describe(message) if message else f"<< {raw!r}"
                if line:
                    self.out(line)
                if message and self._is_direct_to_me(message):
                    ack = {"message_type": "ack", "data": {"ids": [message["id"]]}}
                    await self.ws.send_message(encode(self.ws, ack))
        except trio_websocket.ConnectionClosed:
            return

    def describe(self, message: dict[str, Any]) -> str | None:
        """One incoming envelope as a line of text (None: nothing worth showing)."""
        kind = message["message_type"]
        data = message.get("data") or {}
        handler = _DESCRIBE.get(kind)
        text = handler(self, message, data) if handler else f"[{kind}] {json.dumps(data)}"
        return f"{clock(message.get('timestamp'))} {text}" if text else None

    def _is_direct_to_me(self, message: dict[str, Any]) -> bool:
        return (
            message["message_type"] in ("text", "notification", "system_message")
            and message.get("to_user_id") == str(self.me.user_id)
            and isinstance(message.get("id"), str)
        )

    def _chat(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        kind = message["message_type"]
        body = data["content"] if set(data) == {"content"} else json.dumps(data)
        sender = self.names.name(message.get("from_user_id"))
        to = message.get("to_user_id")
        where = f" → {self.names.name(to)}" if to else ""
        room = message.get("room_id")
        if isinstance(room, str) and isinstance(message.get("offset"), int):
            where = f" in {room[:8]} #{message['offset']}"
        return f"[{kind}] {sender}{where}: {body}"

    def _ack(self, message: dict[str, Any], data: dict[str, Any]) -> str | None:
        ref = data.get("ref_id")
        sent = self._mine.pop(ref, None) if isinstance(ref, str) else None
        if sent is None:
            return None
        if "rooms" in data:
            return _rooms_line(data["rooms"])
        if "offset" in data:
            return f"  ✓ stored in {data['room_id'][:8]} at #{data['offset']}"
        delivered, stored = data.get("delivered", 0), data.get("stored", False)
        kept = ", stored until read" if stored else ""
        if delivered == 0:
            state = (
                "  ✓ stored: delivered when they connect" if stored else "  ✓ no one received it"
            )
        else:
            state = f"  ✓ delivered to {delivered} connection(s){kept}"
        if self._is_echoed(sent):
            return state
        # The server sends a direct message to its recipient only: show ours once stored.
        echo = self._chat({**sent, "from_user_id": self.names.my_id}, sent.get("data") or {})
        return f"{echo}\n{clock(message.get('timestamp'))} {state}"

    def _is_echoed(self, sent: dict[str, Any]) -> bool:
        """The server echoes broadcasts, and direct messages to ourselves, back to us."""
        return sent.get("to_user_id") in (None, self.names.my_id) or not isinstance(
            sent.get("data"), dict
        )

    def _pong(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        started = self._pings.pop(message.get("id", ""), None)
        if started is None:
            return "pong"
        return f"pong in {(time.perf_counter_ns() - started) / 1e6:.2f} ms"

    def _presence(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        verb = "joined" if message["message_type"] == "user_joined" else "left"
        users = data.get("users") or []
        for user in users:
            self.names.learn(user["user_id"], user["username"])
        names = [user["username"] for user in users]
        return presence_line(verb, names, data.get("count", len(users)))

    def _error(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        ref = f" (message {data['ref_id']})" if data.get("ref_id") else ""
        return f"! server error {data.get('code')}: {data.get('message')}{ref}"

    def _system(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        return f"[system] {data.get('content', json.dumps(data))}"


_DESCRIBE: dict[str, Callable[[ClientSession, dict[str, Any], dict[str, Any]], str | None]] = {
    "text": ClientSession._chat,
    "notification": ClientSession._chat,
    "ack": ClientSession._ack,
    "pong": ClientSession._pong,
    "user_joined": ClientSession._presence,
    "user_left": ClientSession._presence,
    "error": ClientSession._error,
    "system_message": ClientSession._system,
}


def _rooms_line(rooms: list[dict[str, Any]]) -> str:
    parts = []
    for room in rooms:
        if not isinstance(room, dict):  # room_unsubscribe: the ids
            parts.append(f"left {str(room)[:8]}")
        elif room.get("recovered") is False:
            parts.append(f"joined {room['room_id'][:8]} at #{room['offset']} (older messages lost)")
        else:
            parts.append(f"joined {room['room_id'][:8]} at #{room['offset']}")
    return "  ✓ " + ", ".join(parts)


def _parse(raw: str | bytes) -> dict[str, Any] | None:
    """An envelope (JSON, or MessagePack in a binary frame), or None for anything else
    (shown raw)."""
    try:
        message = decode(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(message, dict) or not isinstance(message.get("message_type"), str):
        return None
    return message
