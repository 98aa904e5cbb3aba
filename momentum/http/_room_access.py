"""What a change to a room's access does to its live subscribers, and who is in a room now.

A revocation (a member removed from a private room, a room deleted, a room turned private)
goes to this node's hub at once and, in a cluster, to every other node as a
`room_revoke` command: each hub unsubscribes its subscribers that may no longer enter and
sends them `room_unsubscribed` with the reason.

Who is in a room: this node's hub answers for its own subscribers (fresh); in a cluster the
room's hash in Redis (`RoomRoster`) adds the others' (as of the last presence interval).
"""

from __future__ import annotations

import contextlib
import uuid

from actors import ActorError

from ..cluster import room_revoke_command
from ..hub import GetRoomOnline, RoomRevoke
from ..storage import Room, StorageError
from ._cluster import cluster_unavailable
from ._common import ask, store_unavailable
from ._services import Services


async def revoke(s: Services, revocation: RoomRevoke) -> None:
    """Unsubscribe those the revocation concerns, on every node."""
    # A hub that cannot take it now is restarting: its subscriptions are gone with it.
    with contextlib.suppress(ActorError):
        await s.hub.cast(revocation)
    if s.cluster is not None:
        s.cluster.broker.publish_control(room_revoke_command(revocation))


async def revoke_non_members(s: Services, room: Room) -> int:
    """The room turned private: unsubscribe the users in it now that are not members;
    one membership read per user in the room (an admin's rare change)."""
    revoked = 0
    for user_id in await room_online(s, room.id):
        try:
            member = await s.store.get_room_member(room.id, user_id)
        except StorageError:
            raise store_unavailable() from None
        if member is None:
            await revoke(s, RoomRevoke(room.id, "private", user_id))
            revoked += 1
    return revoked


async def room_online(s: Services, room_id: uuid.UUID) -> list[uuid.UUID]:
    """The users subscribed to the room on this node or any other."""
    here: dict[uuid.UUID, int] = await ask(s.hub, lambda reply: GetRoomOnline(room_id, reply))
    users = dict.fromkeys(here)
    if s.cluster is not None:
        try:
            users.update(dict.fromkeys(await s.cluster.roster.online(room_id)))
        except Exception as exc:
            raise cluster_unavailable(exc) from None
    return list(users)
