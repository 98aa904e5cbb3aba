"""One connected session of the interactive client: commands out, messages in, as text.

Terminal I/O is not here: a session writes finished lines to `out` and is handed parsed
commands, so tests drive it against a real server and read what it printed.
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
from ._http import ToolError, base_url, request_json
from ._identity import Credentials

Out = Callable[[str], None]


class ClientSession:
    """A connection's commands and incoming messages; `closing` once the user quit."""

    def __init__(self, ws: WebSocketConnection, me: Credentials, server_url: str, out: Out) -> None:
        self.ws = ws
        self.me = me
        self.out = out
        self.closing = False
        self._base = base_url(server_url)
        self._names: dict[str, str] = {str(me.user_id): me.username}
        self._pings: dict[str, int] = {}
        self._mine: set[str] = set()

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
                    self._mine.add(envelope["id"])
                await self.ws.send_message(json.dumps(envelope))
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
        self._mine.add(message_id)
        envelope = {
            "id": message_id,
            "message_type": command.message_type,
            "data": {"content": command.content},
            "to_user_id": to,
        }
        await self.ws.send_message(json.dumps(envelope))

    async def _room_request(self, kind: str, data: dict[str, Any]) -> None:
        message_id = str(uuid.uuid4())
        self._mine.add(message_id)
        await self.ws.send_message(
            json.dumps({"id": message_id, "message_type": kind, "data": data})
        )

    async def _ping(self) -> None:
        ping_id = str(uuid.uuid4())
        self._pings[ping_id] = time.perf_counter_ns()
        await self.ws.send_message(json.dumps({"id": ping_id, "message_type": "ping"}))

    async def _resolve(self, who: str) -> str | None:
        """A user id for `who`: an id as is, else a name among the users online."""
        try:
            return str(uuid.UUID(who))
        except ValueError:
            pass
        wanted = who.lower()
        for users in (self._names, await self._refresh_names()):
            for user_id, name in users.items():
                if name.lower() == wanted:
                    return user_id
        return None

    async def _get(self, path: str) -> Any:
        try:
            return await request_json("GET", f"{self._base}{path}", token=self.me.token)
        except ToolError as exc:
            self.out(f"! GET {path} failed: {exc}")
            return None

    async def _refresh_names(self) -> dict[str, str]:
        reply = await self._get("/ws/online")
        users = reply["users"] if reply else []
        fresh = {u["id"]: u["username"] for u in users}
        self._names.update(fresh)
        return fresh

    async def _show_online(self) -> None:
        reply = await self._get("/ws/online")
        if reply is None:
            return
        lines = [f"{reply['count']} user(s) online:"]
        for user in reply["users"]:
            self._names[user["id"]] = user["username"]
            lines.append(
                f"  {user['username']:<24} {user['id']}  {user['connections']} connection(s)"
                f" since {user['connected_since']}"
            )
        self.out("\n".join(lines))

    async def _show_stats(self) -> None:
        reply = await self._get("/ws/stats")
        if reply is not None:
            width = max(map(len, reply), default=0)
            self.out("\n".join(f"  {key:<{width}}  {value}" for key, value in reply.items()))

    # -- incoming ------------------------------------------------------------------------

    async def receive_forever(self) -> None:
        """Print every message until the connection closes (for whatever reason).

        Direct messages to us are acknowledged as they are shown, so the server drops its
        stored copy and does not replay them on the next connect.
        """
        try:
            while True:
                raw = await self.ws.get_message()
                message = _parse(raw)
                line = self.describe(message) if message else f"<< {raw!r}"
                if line:
                    self.out(line)
                if message and self._is_direct_to_me(message):
                    ack = {"message_type": "ack", "data": {"ids": [message["id"]]}}
                    await self.ws.send_message(json.dumps(ack))
        except trio_websocket.ConnectionClosed:
            return

    def describe(self, message: dict[str, Any]) -> str | None:
        """One incoming envelope as a line of text (None: nothing worth showing)."""
        kind = message["message_type"]
        data = message.get("data") or {}
        handler = _DESCRIBE.get(kind)
        text = handler(self, message, data) if handler else f"[{kind}] {json.dumps(data)}"
        return f"{time.strftime('%H:%M:%S')} {text}" if text else None

    def _is_direct_to_me(self, message: dict[str, Any]) -> bool:
        return (
            message["message_type"] in ("text", "notification", "system_message")
            and message.get("to_user_id") == str(self.me.user_id)
            and isinstance(message.get("id"), str)
        )

    def _name(self, user_id: str | None) -> str:
        if user_id is None:
            return "server"
        if user_id == str(self.me.user_id):
            return "you"
        return self._names.get(user_id, user_id[:8])

    def _chat(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        kind = message["message_type"]
        body = data["content"] if set(data) == {"content"} else json.dumps(data)
        sender = self._name(message.get("from_user_id"))
        to = message.get("to_user_id")
        where = f" → {self._name(to)}" if to else ""
        room = message.get("room_id")
        if isinstance(room, str) and isinstance(message.get("offset"), int):
            where = f" in {room[:8]} #{message['offset']}"
        return f"[{kind}] {sender}{where}: {body}"

    def _ack(self, message: dict[str, Any], data: dict[str, Any]) -> str | None:
        if data.get("ref_id") not in self._mine:
            return None
        self._mine.discard(data["ref_id"])
        if "rooms" in data:
            return _rooms_line(data["rooms"])
        if "offset" in data:
            return f"  ✓ stored in {data['room_id'][:8]} at #{data['offset']}"
        delivered, stored = data.get("delivered", 0), data.get("stored", False)
        kept = ", stored until read" if stored else ""
        if delivered == 0:
            return "  ✓ stored: delivered when they connect" if stored else "  ✓ no one received it"
        return f"  ✓ delivered to {delivered} connection(s){kept}"

    def _pong(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        started = self._pings.pop(message.get("id", ""), None)
        if started is None:
            return "pong"
        return f"pong in {(time.perf_counter_ns() - started) / 1e6:.2f} ms"

    def _presence(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        verb = "joined" if message["message_type"] == "user_joined" else "left"
        users = data.get("users") or []
        for user in users:
            self._names[user["user_id"]] = user["username"]
        names = ", ".join(u["username"] for u in users)
        count = data.get("count", len(users))
        more = f" and {data['more']} more" if data.get("more") else ""
        if count == 1:
            return f"* {names} {verb}"
        return f"* {count} users {verb}: {names}{more}"

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
    """A JSON envelope, or None for anything else (shown raw)."""
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("message_type"), str):
        return None
    return message
