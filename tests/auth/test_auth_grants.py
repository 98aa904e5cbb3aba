"""Room grants: what a backend signs, what the codec takes, and that a grant and an access
token are never taken for one another.

Rules: like test_auth_tokens.py — plain sync tests on the `ManualClock` the codec reads.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest

from momentum.auth import TokenCodec, TokenExpired, TokenInvalid, sign_room_grant

from .conftest import SECRET, START, ManualClock

USER = uuid.UUID("7b7d2f50-7a3e-4d52-9d1c-0a1f4c8e9b10")
ROOM = uuid.UUID("0f2a4e8c-1b3d-4f5a-9c7e-2d4b6a8c0e1f")


def signed(**claims: Any) -> str:
    payload = {"typ": "room_grant", "sub": str(USER), "rooms": [str(ROOM)], "exp": START + 60}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, SECRET, "HS256")


def test_a_signed_grant_is_read_back(codec: TokenCodec) -> None:
    grant = codec.verify_room_grant(sign_room_grant(SECRET, USER, [ROOM], int(START) + 60))
    assert (grant.user_id, grant.room_ids, grant.expires_at) == (
        USER,
        frozenset({ROOM}),
        START + 60,
    )


def test_a_grant_expires_after_its_exp_and_the_leeway(
    codec: TokenCodec, clock: ManualClock
) -> None:
    token = signed()
    clock.advance(60 + 29)
    assert codec.verify_room_grant(token).user_id == USER
    clock.advance(1)
    with pytest.raises(TokenExpired):
        codec.verify_room_grant(token)


def test_an_access_token_is_no_grant_and_a_grant_no_access_token(codec: TokenCodec) -> None:
    access = codec.issue(USER, "a@example.com", "a").token
    with pytest.raises(TokenInvalid, match="not a room grant"):
        codec.verify_room_grant(access)
    with pytest.raises(TokenInvalid, match="not an access token"):
        codec.verify(signed(iat=int(START), email="a@example.com"))


def signed_with_another_secret() -> str:
    return jwt.encode({"typ": "room_grant"}, "another-secret-0123456789abcdef-01234", "HS256")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (signed(typ=None), "typ"),
        (signed(exp=None), "exp"),
        (signed(sub="nope"), "UUID"),
        (signed(rooms=["nope"]), "UUID"),
        (signed(rooms=[]), "rooms is a list"),
        (signed(rooms=str(ROOM)), "rooms is a list"),
        (signed(rooms=[str(ROOM)] * 1025), "rooms is a list"),
        (signed(exp="tomorrow"), "exp is not a date"),
        (signed(exp=True), "exp is not a date"),
        (signed_with_another_secret(), "Signature verification failed"),
        ("not.a.jwt", "Invalid header"),
        ("", "a grant is a JWT string"),
        (42, "a grant is a JWT string"),
    ],
)
def test_malformed_grants_are_refused(codec: TokenCodec, token: object, why: str) -> None:
    with pytest.raises(TokenInvalid, match=why):
        codec.verify_room_grant(token)


def test_a_grant_signed_with_another_algorithm_is_refused(clock: ManualClock) -> None:
    codec = TokenCodec(SECRET, now=clock)
    token = jwt.encode({"typ": "room_grant", "sub": str(USER)}, SECRET * 2, "HS384")
    with pytest.raises(TokenInvalid):
        codec.verify_room_grant(token)
