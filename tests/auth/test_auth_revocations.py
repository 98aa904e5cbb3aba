"""The in-memory revocation list: by token id, and per user by issue time.

Rules of this module: plain sync tests; the wall clock is a `ManualClock` moved by hand.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from momentum.auth import Revocations, TokenCodec
from momentum.storage import Revoked

from .conftest import START, ManualClock

USER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_a_revoked_jti_is_refused_and_others_are_not(codec: TokenCodec) -> None:
    revocations = Revocations()
    one, two = (codec.verify(codec.issue(USER, "a@x.io", "a").token) for _ in range(2))
    revocations.revoke(one.jti, one.exp)
    assert revocations.is_revoked(one)
    assert not revocations.is_revoked(two)


def test_tokens_issued_before_a_password_change_are_refused(
    codec: TokenCodec, clock: ManualClock
) -> None:
    revocations = Revocations()
    before = codec.verify(codec.issue(USER, "a@x.io", "a").token)
    clock.advance(0.001)
    revocations.revoke_before(USER, codec.issued_ms())
    revocations.revoke_before(USER, 0)  # an older event arriving late changes nothing
    same_ms = codec.verify(codec.issue(USER, "a@x.io", "a").token)
    other = codec.verify(codec.issue(uuid.uuid4(), "b@x.io", "b").token)
    assert revocations.is_revoked(before)
    assert not revocations.is_revoked(same_ms)
    assert not revocations.is_revoked(other)


def test_loaded_from_the_store(codec: TokenCodec) -> None:
    claims = codec.verify(codec.issue(USER, "a@x.io", "a").token)
    later = datetime.fromtimestamp(START + 1, UTC)
    revocations = Revocations()
    revocations.load(Revoked({claims.jti: later}, {USER: later}, {"s1": later}))
    assert revocations.is_revoked(claims)
    assert len(revocations) == 3


def test_a_revoked_session_revokes_each_of_its_tokens(codec: TokenCodec) -> None:
    revocations = Revocations()
    one, two, other, none = (
        codec.verify(codec.issue(USER, "a@x.io", "a", session=sid).token)
        for sid in ("s1", "s1", "s2", None)
    )
    revocations.revoke_session("s1", one.exp)
    assert revocations.is_revoked(one) and revocations.is_revoked(two)
    assert not revocations.is_revoked(other) and not revocations.is_revoked(none)


def test_expired_ids_are_swept_as_the_list_grows() -> None:
    clock = ManualClock()
    revocations = Revocations(leeway=30, now=clock)
    for i in range(1022):
        revocations.revoke(f"old{i}", START - 31)  # expired, leeway included
    revocations.revoke_session("old-session", START - 31)
    revocations.revoke_session("live", START - 29)  # the 1024th: a sweep
    assert len(revocations) == 1
