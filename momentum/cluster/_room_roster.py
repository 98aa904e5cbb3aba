"""Room presence across the cluster: who is in which room, counted once per cluster.

The hub reports a user's first subscription to a room on this node and its last one ending
(`RoomPresenceSink`); every presence interval the roster counts them in one Redis hash per
room (`momentum:room:<id>:online`: user → number of nodes where the user subscribes to the
room), one script call per room with changes (the script `momentum:online` uses: a user
counted from 0 to 1 came into the room, from 1 to 0 left it). The node that saw a change
announces it once, on the room's topic (only nodes with a subscriber of the room hear it),
and to its own hub.

Cost: per presence interval, one script call per room whose presence changed on this node;
per `GET /rooms/<id>/online`, one `HGETALL` of that room's hash (its size is the room's
users online, never the cluster's connections). A node that dies without leaving keeps its
counts: they are not reaped (see docs/cluster.md); one that stops cleanly counts itself out
of every room.
"""

from __future__ import annotations

import logging
import uuid
from typing import NoReturn

import coredis
import trio

from actors import ActorRef

from ..broker import room_topic
from ..hub import ROOM_PRESENCE, Forward, HubMsg, room_presence_envelopes
from ..protocol import text_frame
from ._broker import BACKOFF, RedisBroker
from ._channels import room_online_key
from ._registry import COUNT_BATCH, COUNT_SCRIPT

log = logging.getLogger("momentum.cluster")

#: (room, user) → (net change on this node since the last flush, username)
_Changes = dict[tuple[uuid.UUID, uuid.UUID], tuple[int, str]]
#: (user, net change, username) of one room
_Moved = tuple[uuid.UUID, int, str]


class RoomRoster:
    """This node's part of room presence (see the module docstring)."""

    def __init__(
        self,
        client: coredis.Redis[bytes],
        broker: RedisBroker,
        hub: ActorRef[HubMsg],
        *,
        interval: float,
    ) -> None:
        self._client = client
        self._broker = broker
        self._hub = hub
        self._interval = interval
        self._count = client.register_script(COUNT_SCRIPT)
        self._changes: _Changes = {}
        #: room → the users this node is counted in for (what it counts out when it stops)
        self._here: dict[uuid.UUID, dict[uuid.UUID, str]] = {}

    # -- the hub's side (RoomPresenceSink): never blocks ------------------------------------------

    def room_online(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None:
        self._change(room_id, user_id, username, +1)

    def room_offline(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str) -> None:
        self._change(room_id, user_id, username, -1)

    def _change(self, room_id: uuid.UUID, user_id: uuid.UUID, username: str, delta: int) -> None:
        before = self._changes.get((room_id, user_id), (0, username))[0]
        self._changes[(room_id, user_id)] = (before + delta, username)

    # -- queries (HTTP handlers) ------------------------------------------------------------------

    async def online(self, room_id: uuid.UUID) -> list[uuid.UUID]:
        """The users subscribed to the room on any node, as of the last presence interval."""
        counted = await self._client.hkeys(room_online_key(room_id))
        return [uuid.UUID(raw.decode()) for raw in counted]

    # -- the roster's task ------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Count and announce every interval until cancelled; then count this node out."""
        task_status.started()
        try:
            await self._every_interval()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(self._interval * 4 + 1):
                self._changes = {
                    (room_id, user_id): (-1, name)
                    for room_id, users in self._here.items()
                    for user_id, name in users.items()
                }
                await self._guarded_flush()

    async def _every_interval(self) -> NoReturn:
        while True:
            pause = await self._guarded_flush() or self._interval
            await trio.sleep(pause)

    async def _guarded_flush(self) -> float | None:
        try:
            await self._flush()
        except Exception as exc:  # Redis failed: the changes wait for the next try
            log.warning("room presence: %r (retrying)", exc)
            return BACKOFF[1]
        return None

    async def _flush(self) -> None:
        changes, self._changes = self._changes, {}
        by_room: dict[uuid.UUID, list[_Moved]] = {}
        for (room_id, user_id), (delta, name) in changes.items():
            if delta:
                by_room.setdefault(room_id, []).append((user_id, delta, name))
        try:
            for room_id, moved in by_room.items():
                await self._count_room(room_id, moved)  # takes out of `moved` what it counts
        finally:  # what was not counted is counted next time
            for room_id, moved in by_room.items():
                for user_id, delta, name in moved:
                    self._change(room_id, user_id, name, delta)

    async def _count_room(
        self, room_id: uuid.UUID, moved: list[tuple[uuid.UUID, int, str]]
    ) -> None:
        """Count this node in or out of the room for each user (a script call per
        `COUNT_BATCH` users), then announce who came or left anywhere."""
        joined: dict[uuid.UUID, str] = {}
        left: dict[uuid.UUID, str] = {}
        here = self._here.setdefault(room_id, {})
        while moved:
            chunk = moved[:COUNT_BATCH]
            args: list[str | int] = []
            for user_id, delta, _ in chunk:
                args += [str(user_id), 1 if delta > 0 else -1]
            counted = await self._count.execute(keys=[room_online_key(room_id)], args=args)
            del moved[: len(chunk)]
            for (user_id, delta, name), change in zip(chunk, counted, strict=True):  # type: ignore[arg-type]
                if delta > 0:
                    here[user_id] = name
                else:
                    here.pop(user_id, None)
                if change == 1:
                    joined[user_id] = name
                elif change == -1:
                    left[user_id] = name
        if not here:
            del self._here[room_id]
        topic = room_topic(room_id)
        for envelope in room_presence_envelopes(room_id, joined, left):
            frame = text_frame(envelope)
            self._broker.publish(topic, frame, ROOM_PRESENCE)
            await self._hub.cast(Forward(topic, frame, ROOM_PRESENCE))
