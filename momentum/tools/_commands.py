"""The interactive client's commands: parsed from a line into a frozen value, no I/O."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

HELP = """\
commands:
  text <message>          broadcast a text message to everyone online
  notification <message>  broadcast a notification
  to <user> <message>     direct text message (user name or id)
  join <room id>          subscribe to a room (its messages from now on)
  leave <room id>         unsubscribe from a room
  say <room id> <message> publish a text message to a room you joined
  json {...}              send a raw JSON envelope, e.g. json {"message_type": "ping"}
  ping                    ask the server for a pong; prints the round-trip time
  online                  who is online (GET /ws/online)
  stats                   server counters (GET /ws/stats)
  help                    this list
  quit                    close the connection (1000) and leave; Ctrl-D and Ctrl-C too"""


@dataclass(frozen=True, slots=True)
class Send:
    """`text`, `notification` (broadcast) and `to` (direct: `to` is a name or id)."""

    message_type: str
    content: str
    to: str | None = None


@dataclass(frozen=True, slots=True)
class Join:
    room_id: str


@dataclass(frozen=True, slots=True)
class Leave:
    room_id: str


@dataclass(frozen=True, slots=True)
class Say:
    room_id: str
    content: str


@dataclass(frozen=True, slots=True)
class SendJson:
    envelope: Any


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Online:
    pass


@dataclass(frozen=True, slots=True)
class Stats:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class Invalid:
    """A line that is not a command; `reason` says why, with a hint."""

    reason: str


Command = Send | Join | Leave | Say | SendJson | Ping | Online | Stats | Help | Quit | Invalid

_BARE: dict[str, Command] = {
    "ping": Ping(),
    "online": Online(),
    "stats": Stats(),
    "help": Help(),
    "?": Help(),
    "quit": Quit(),
    "exit": Quit(),
}


def parse_command(line: str) -> Command | None:
    """The command on `line`, or None for a blank line."""
    line = line.strip()
    if not line:
        return None
    word, _, rest = line.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in _BARE:
        return _BARE[word] if not rest else Invalid(f"{word} takes no arguments")
    if word in ("text", "notification"):
        return Send(word, rest) if rest else Invalid(f"usage: {word} <message>")
    if word == "to":
        target, _, content = rest.partition(" ")
        if not target or not content.strip():
            return Invalid("usage: to <user name or id> <message>")
        return Send("text", content.strip(), to=target)
    if word in ("join", "leave", "say"):
        return _parse_room(word, rest)
    if word == "json":
        return _parse_json(rest)
    return Invalid(f"unknown command {word!r}; type help for the list")


def _parse_json(rest: str) -> Command:
    if not rest:
        return Invalid('usage: json {"message_type": "text", "data": {"content": "hi"}}')
    try:
        return SendJson(json.loads(rest))
    except ValueError as exc:
        return Invalid(f"not valid JSON: {exc}")


def _parse_room(word: str, rest: str) -> Command:
    room, _, content = rest.partition(" ")
    try:
        room_id = str(uuid.UUID(room))
    except ValueError:
        usage = "say <room id> <message>" if word == "say" else f"{word} <room id>"
        return Invalid(f"usage: {usage} (a room id is a UUID)")
    if word == "say":
        return (
            Say(room_id, content.strip())
            if content.strip()
            else Invalid("usage: say <room id> <message>")
        )
    if content.strip():
        return Invalid(f"{word} takes one room id")
    return Join(room_id) if word == "join" else Leave(room_id)
