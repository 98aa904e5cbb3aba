"""How the interactive client writes what arrives: the time of a message and presence lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

#: Presence frames naming more users than this are summed up ("231 users joined").
MAX_NAMED = 5


def clock(timestamp: object, today: dt.date | None = None) -> str:
    """A message's own time (the envelope's `timestamp`, UTC) in local time: `12:03:44`, with
    the date when it is not today's (a stored message replayed days later). Without a
    readable timestamp, the time now."""
    try:
        when = dt.datetime.fromisoformat(str(timestamp)).astimezone()
    except ValueError:
        when = dt.datetime.now().astimezone()
    if when.date() != (today or dt.date.today()):
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return when.strftime("%H:%M:%S")


def presence_line(verb: str, names: Sequence[str], count: int) -> str:
    """`* alice joined`, `* alice, bob and carol left`, or `* 231 users joined`."""
    if count > MAX_NAMED or count > len(names) or not names:
        return f"* {count} users {verb}"
    if len(names) == 1:
        return f"* {names[0]} {verb}"
    return f"* {', '.join(names[:-1])} and {names[-1]} {verb}"
