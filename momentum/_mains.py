"""How the root starts the store writer, the user lookup and the janitor: settings turned
into the arguments of their `serve_*` (the pieces `server` puts in its supervision tree)."""

from __future__ import annotations

from functools import partial

from actors import ActorMain, ActorRef, ChildSpec, actor_spec, open_mailbox

from .config import Settings
from .hub import HubMsg
from .janitor import JanitorMsg, Retention, serve_janitor
from .observability import Metrics
from .storage import (
    ROOM_WRITER_MAILBOX,
    Backpressure,
    LookupMsg,
    RecipientLimits,
    RoomWriterMsg,
    RoomWriting,
    Store,
    WriterMsg,
    serve_lookup,
    serve_room_writer,
    serve_writer,
)


def writer_main(
    s: Settings, store: Store, backpressure: Backpressure, metrics: Metrics
) -> ActorMain[WriterMsg]:
    limits = RecipientLimits(s.pending_max_count, s.pending_max_bytes)
    on_error = metrics.storage_errors.inc
    return partial(
        serve_writer, store=store, limits=limits, backpressure=backpressure, on_error=on_error
    )


def room_writer_child(store: Store, metrics: Metrics) -> tuple[RoomWriting, ChildSpec[None]]:
    """The room writer's spec (it owns the mailbox, kept across restarts), and what
    connections use to hand it room messages."""
    ref, inbox = open_mailbox[RoomWriterMsg]("room-writer", ROOM_WRITER_MAILBOX)
    backpressure = Backpressure(ref, high_water=ROOM_WRITER_MAILBOX // 2)
    main = partial(
        serve_room_writer,
        store=store,
        backpressure=backpressure,
        on_error=metrics.storage_errors.inc,
    )
    return RoomWriting(ref, backpressure), actor_spec("room-writer", main, inbox)


def lookup_main(store: Store, metrics: Metrics) -> ActorMain[LookupMsg]:
    return partial(serve_lookup, store=store, on_error=metrics.storage_errors.inc)


def janitor_main(settings: Settings, hub: ActorRef[HubMsg], store: Store) -> ActorMain[JanitorMsg]:
    return partial(
        serve_janitor,
        hub=hub,
        idle_timeout=settings.cleanup_interval,
        period=max(1.0, settings.cleanup_interval / 5),
        retention=Retention(store, settings.history_retention),
        users=store,
    )
