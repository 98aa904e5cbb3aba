"""Where a connection's reader hands what its client sends."""

from __future__ import annotations

from dataclasses import dataclass

from actors import ActorRef

from ..hub import HubMsg
from ..storage import Backpressure, Store, WriterMsg
from ._reauth import Reauth


@dataclass(frozen=True, slots=True)
class ReaderLinks:
    """Where the reader hands what its client sends; `store` serves the room requests (the
    rooms it may enter, their messages), `room_limit` is `ROOM_MAX_PER_CONNECTION`, `reauth`
    checks a token handed over (`auth`)."""

    hub: ActorRef[HubMsg]
    writer: ActorRef[WriterMsg]
    backpressure: Backpressure
    max_message_size: int
    store: Store
    room_limit: int
    reauth: Reauth
