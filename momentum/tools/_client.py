"""One session of the interactive client on the SDK: commands out, events in, as text.

Terminal I/O is not here: a session writes finished lines to `out` and is handed parsed
commands, so tests drive it against a real server and read what it printed. The connection
itself — reconnecting, acknowledging direct messages, recovering rooms — is the SDK's
(`momentum.sdk`). Each line of an incoming message carries the message's own time (its
envelope's `timestamp`), so a stored message replayed on connect shows when it was sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ..sdk import (
    Client,
    Event,
    Message,
    OtherEnvelope,
    Presence,
    RequestFailed,
    RequestTimeout,
    RoomJoined,
    RoomMessage,
    Sent,
    ServerError,
)
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

Out = Callable[[str], None]


class ClientSession:
    """A client's commands and incoming events as lines of text."""

    def __init__(self, client: Client, me: Credentials, server_url: str, out: Out) -> None:
        self.client = client
        self.me = me
        self.out = out
        self._base = base_url(server_url)
        self.names = Directory(str(me.user_id), me.username, self._online_users)

    # -- outgoing ------------------------------------------------------------------------

    async def execute(self, command: Command) -> bool:
        """Run one command; False when the session should end (quit)."""
        try:
            return await self._execute(command)
        except RequestFailed as exc:
            self.out(f"! server error {exc.code}: {exc.message}")
        except RequestTimeout:
            self.out("? no answer from the server in time")
        return True

    async def _execute(self, command: Command) -> bool:
        match command:
            case Quit():
                return False
            case Help():
                self.out(HELP)
            case Invalid(reason):
                self.out(f"? {reason}")
            case Ping():
                self.out(f"pong in {await self.client.ping() * 1000:.2f} ms")
            case Send():
                await self._send(command)
            case Join(room_id):
                await self.client.join(room_id)  # the RoomJoined event says it
            case Leave(room_id):
                await self.client.leave(room_id)
                self.out(f"  ✓ left {room_id[:8]}")
            case Say(room_id, content):
                published = await self.client.publish(room_id, {"content": content})
                self.out(f"  ✓ stored in {room_id[:8]} at #{published.offset}")
            case SendJson(envelope):
                await self.client.cast_envelope(envelope)
            case Online():
                await self._show_online()
            case Stats():
                await self._show_stats()
        return True

    async def _send(self, command: Send) -> None:
        data = {"content": command.content}
        if command.to is None:
            sent = await self.client.broadcast(data, message_type=command.message_type)
            self.out(_state_line(sent))  # our copy comes back like everyone's
            return
        to = await self._resolve(command.to)
        if to is None:
            self.out(f"? no online user named {command.to!r}; give their id to reach them")
            return
        sent = await self.client.send(to, data, message_type=command.message_type)
        if to == self.names.my_id:
            self.out(_state_line(sent))  # the server sends it to us as the recipient
            return
        mine = {"message_type": command.message_type, "from_user_id": self.names.my_id}
        echo = self._chat({**mine, "to_user_id": to}, data)
        self.out(f"{clock(None)} {echo}\n{clock(None)} {_state_line(sent)}")

    async def _resolve(self, who: str) -> str | None:
        """A user id for `who`: an id as is, else a name seen or among the users online."""
        try:
            return str(uuid.UUID(who))
        except ValueError:
            return await self.names.find(who)

    async def _get(self, path: str) -> Any:
        try:
            return await request_json("GET", f"{self._base}{path}", token=self.client.token)
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

    async def show(self, event: Event) -> None:
        """Print one event from the SDK (connection states are the controller's)."""
        sender = getattr(event, "from_user_id", None)
        if isinstance(sender, str) and not self.names.knows(sender):
            await self.names.look_up(sender)
        line = self.describe(event)
        if line:
            self.out(line)

    def describe(self, event: Event) -> str | None:
        """One event as a line of text (None: nothing worth showing)."""
        match event:
            case Message() | RoomMessage():
                envelope = asdict(event)
                text = self._chat(envelope, event.data)
                return f"{clock(event.timestamp)} {text}"
            case RoomJoined(room_id, offset, recovered):
                lost = "" if recovered else " (older messages lost)"
                return f"  ✓ joined {room_id[:8]} at #{offset}{lost}"
            case Presence():
                return f"{clock(None)} {self._presence(event)}"
            case ServerError(code, message, data):
                ref = f" (message {data['ref_id']})" if data.get("ref_id") else ""
                return f"{clock(None)} ! server error {code}: {message}{ref}"
            case OtherEnvelope(kind, envelope):
                body = json.dumps(envelope.get("data"))
                return f"{clock(envelope.get('timestamp'))} [{kind}] {body}"
        return None

    def _chat(self, message: dict[str, Any], data: dict[str, Any]) -> str:
        kind = message["message_type"]
        if kind == "system_message":
            return f"[system] {data.get('content', json.dumps(data))}"
        body = data["content"] if set(data) == {"content"} else json.dumps(data)
        sender = self.names.name(message.get("from_user_id"))
        to = message.get("to_user_id")
        where = f" → {self.names.name(to)}" if to else ""
        room = message.get("room_id")
        if isinstance(room, str) and isinstance(message.get("offset"), int):
            where = f" in {room[:8]} #{message['offset']}"
        return f"[{kind}] {sender}{where}: {body}"

    def _presence(self, event: Presence) -> str:
        for user in event.users:
            self.names.learn(user["user_id"], user["username"])
        names = [user["username"] for user in event.users]
        return presence_line("joined" if event.joined else "left", names, event.count)


def _state_line(sent: Sent) -> str:
    if sent.delivered == 0:
        return (
            "  ✓ stored: delivered when they connect" if sent.stored else "  ✓ no one received it"
        )
    kept = ", stored until read" if sent.stored else ""
    return f"  ✓ delivered to {sent.delivered} connection(s){kept}"
