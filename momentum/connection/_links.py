"""Where a connection's reader hands what its client sends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from actors import ActorRef

from ..auth import KeyedBuckets, TokenCodec
from ..hub import HubMsg
from ..storage import Backpressure, RoomWriting, Store, WriterMsg
from ._reauth import Reauth


@dataclass(frozen=True, slots=True)
class ReaderLinks:
    """Where the reader hands what its client sends; `store` serves the room requests (the
    rooms it may enter, their messages), `room_limit` is `ROOM_MAX_PER_CONNECTION`,
    `room_writing` takes the room messages it publishes, `reauth` checks a token handed over
    (`auth`), `grants` checks room grants (None: none is taken), `room_rates` holds this
    connection's publish rate per room (None: no limit)."""

    hub: ActorRef[HubMsg]
    writer: ActorRef[WriterMsg]
    backpressure: Backpressure
    max_message_size: int
    store: Store
    room_limit: int
    room_writing: RoomWriting
    reauth: Reauth
    grants: TokenCodec | None = None
    room_rates: KeyedBuckets[uuid.UUID] | None = None
