"""The hub actor's loop: its mailbox, in batches, into one `Hub`; and its presence tick.

A failure while handling one message is logged and counted, and the hub goes on: one bad
message must not drop every connection of the process. A failure of the loop itself
crashes the actor; its supervisor restarts it together with the connections (rest-for-one),
whose clients are closed with 1012 and reconnect.
"""

from __future__ import annotations

import contextlib
import logging
import time
from functools import partial
from typing import NoReturn

import trio

from actors import ActorRef, Mailbox, MailboxFull

from ..protocol import CloseCode
from ..storage import WriterMsg
from ._hub import Hub, HubConfig
from ._messages import (
    CatchUp,
    CloseAll,
    Disconnect,
    Forward,
    GetBusiestRooms,
    GetOnlinePage,
    GetStats,
    HubMsg,
    Join,
    Leave,
    Publish,
    Release,
    Reserve,
    RevokeTokens,
    RoomJoin,
    RoomLeave,
    RoomPublish,
    SetUserActive,
    Sweep,
    Tick,
)
from ._room_messages import ChargeSender, GetRoomOnline, RoomRevoke

log = logging.getLogger("momentum.hub")

#: Messages handled between two flushes of the connections' write queues.
BATCH = 256

#: The periodic work whose event-loop time is measured (work that grows with the number of
#: connections and runs whatever the traffic), by the name `observe_task` gets.
TIMED_TASKS: dict[type, str] = {
    Tick: "presence_tick",
    Sweep: "janitor_sweep",
    GetOnlinePage: "online_page",
}


async def serve_hub(
    mailbox: Mailbox[HubMsg],
    *,
    ref: ActorRef[HubMsg],
    writer: ActorRef[WriterMsg],
    config: HubConfig,
    started_at: float,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Run a hub (fresh state on every start) on `mailbox` until cancelled.

    It takes whatever is waiting (up to BATCH) as one batch and flushes once after it: under
    light load a batch is one message and its frames go out at once; under heavy load each
    connection gets one write per batch instead of one per frame.
    """
    hub = Hub(config, started_at=started_at, writer=writer)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(_tick_forever, ref, config.presence_interval))
        task_status.started()
        try:
            while True:
                for msg in await mailbox.receive_batch(BATCH):
                    started = time.perf_counter()
                    try:
                        dispatch(hub, msg)
                    except Exception:
                        hub.errors += 1
                        log.exception("hub failed to handle %s", type(msg).__name__)
                    task = TIMED_TASKS.get(type(msg))
                    if task is not None:
                        config.observe_task(task, time.perf_counter() - started)
                hub.flush()
        except Exception:
            # Crashing: its supervisor restarts the connections with a fresh hub. Tell them
            # why first, so that each client hears 1012 (reconnect) rather than 1001.
            hub.close_all(CloseCode.SERVICE_RESTART, "service restart: reconnect")
            raise


async def _tick_forever(ref: ActorRef[HubMsg], interval: float) -> NoReturn:
    """Wake the hub every `interval` to flush presence; skip a tick when it is busy."""
    while True:
        await trio.sleep(interval)
        with contextlib.suppress(MailboxFull):
            ref.cast_nowait(Tick())


def dispatch(hub: Hub, msg: HubMsg) -> None:
    """What each message of the hub's mailbox does to the hub."""
    match msg:
        case Publish():
            hub.publish(msg)
        case RoomPublish():
            hub.publish_room(msg)
        case RoomJoin(handle=handle, room_id=room_id, routed=routed, until=until):
            if handle.conn_id in hub.connections:  # not one that has left already
                hub.rooms.join(handle, room_id, routed, until)
        case RoomLeave(handle=handle, room_id=room_id):
            hub.rooms.leave(handle, room_id)
        case RoomRevoke():
            hub.revoke_room(msg)
        case ChargeSender(user_id=user_id, reply=reply):
            reply.send(hub.charge_sender(user_id))
        case GetRoomOnline(room_id=room_id, reply=reply):
            reply.send(hub.rooms.online(room_id))
        case Join(handle=handle, reservation=reservation, gate=gate):
            hub.join(handle, reservation, gate)
        case Leave(handle=handle):
            hub.leave(handle)
        case Reserve(user_id=user_id, reply=reply):
            reply.send(hub.reserve(user_id))
        case Release(reservation=reservation):
            hub.release(reservation)
        case Tick():
            hub.tick()
        case GetOnlinePage(after=after, limit=limit, reply=reply):
            reply.send(hub.online_page(after, limit))
        case GetStats(reply=reply):
            reply.send(hub.stats())
        case GetBusiestRooms(reply=reply):
            reply.send(hub.busiest_rooms())
        case Sweep(idle_before=idle_before, reply=reply):
            reply.send(hub.sweep(idle_before))
        case SetUserActive(user_id=user_id, active=active, reply=reply):
            closed = hub.set_user_active(user_id, active)
            if reply is not None:
                reply.send(closed)
        case Disconnect(user_id=user_id, reply=reply):
            closed = hub.disconnect(user_id)
            if reply is not None:
                reply.send(closed)
        case RevokeTokens():
            hub.revoke_tokens(msg)
        case Forward(topic=topic, frame=frame, kind=kind):
            hub.forward(topic, frame, kind)
        case CatchUp():
            hub.catch_up()
        case CloseAll(code=code, reason=reason, reply=reply):
            reply.send(hub.close_all(code, reason))
