"""The room grant one `room_subscribe` carries, checked once, for the private rooms of the
request its user is not a member of.

A grant (see `auth._grants`) lets its user into the rooms it names until its `exp` (plus
`JWT_LEEWAY`, as for access tokens): the subscription it admits ends then (the hub sends
`room_unsubscribed` with the reason `grant_expired`) unless the client subscribes again
with a fresh grant. Removing the user from the room does not end it sooner: the backend's
signature, not the membership, let it in; deleting the room does.
"""

from __future__ import annotations

import uuid

import trio

from ..auth import AuthError, RoomGrant, TokenCodec, TokenExpired


class GrantCheck:
    """`admits(room_id)`: (None, until) if the grant opens the room, until that Trio time;
    else (why not, None)."""

    __slots__ = ("_checked", "_codec", "_token", "_user_id")

    def __init__(self, codec: TokenCodec | None, user_id: uuid.UUID, token: str | None) -> None:
        self._codec = codec
        self._user_id = user_id
        self._token = token
        self._checked: RoomGrant | str | None = None  # the grant, or why it is refused

    def admits(self, room_id: uuid.UUID) -> tuple[str | None, float | None]:
        if self._token is None:
            return "this room is private: members only (or a room grant in data.grant)", None
        checked = self._check()
        if isinstance(checked, str):
            return checked, None
        if room_id not in checked.room_ids:
            return "the room grant does not name this room", None
        assert self._codec is not None  # a grant was checked with it
        left = checked.expires_at + self._codec.leeway - self._codec.now()
        return None, trio.current_time() + left

    def _check(self) -> RoomGrant | str:
        if self._checked is None:
            self._checked = self._verify()
        return self._checked

    def _verify(self) -> RoomGrant | str:
        if self._codec is None:
            return "this server takes no room grants"
        try:
            grant = self._codec.verify_room_grant(self._token)
        except TokenExpired:
            return "the room grant has expired"
        except AuthError as exc:
            return f"the room grant is not valid: {exc}"
        if grant.user_id != self._user_id:
            return "the room grant is for another user"
        return grant
