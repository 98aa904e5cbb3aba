"""The store's half that keeps sessions: revoked tokens, password changes, refresh tokens.

Rules: every backend (`store` fixture: SQLite, PostgreSQL when configured, memory), the
real clock, under `trio.fail_after`. Times are chosen relative to now, an hour apart, so
no test depends on how fast a statement runs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import trio

from momentum.storage import NewUser, RefreshToken, SpentRefresh, Store

TIMEOUT = 20
HOUR = timedelta(hours=1)


async def user_id(store: Store, name: str = "alice") -> uuid.UUID:
    return (await store.create_user(NewUser(f"{name}@example.com", name, "old-hash"))).id


async def test_revoked_tokens_are_loaded_until_they_expire(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        uid, now = await user_id(store), datetime.now(UTC)
        await store.revoke_token("jti-live", uid, now + HOUR)
        await store.revoke_token("jti-live", uid, now + 2 * HOUR)  # again: no-op
        await store.revoke_token("jti-gone", uid, now - HOUR)
        revoked = await store.load_revoked(now)
        assert dict(revoked.tokens) == {"jti-live": revoked.tokens["jti-live"]}
        assert abs(revoked.tokens["jti-live"] - (now + HOUR)) < timedelta(milliseconds=1)
        assert revoked.users == {} and revoked.sessions == {}


async def test_set_password_revokes_earlier_tokens(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        uid, now = await user_id(store), datetime.now(UTC)
        token = RefreshToken("hash-1", uid, "session-1", now + HOUR)
        await store.save_refresh_token(token)
        assert await store.set_password(uid, "new-hash", tokens_valid_after=now)
        user = await store.get_user(uid)
        assert user is not None and user.password_hash == "new-hash"
        revoked = await store.load_revoked(now)
        assert list(revoked.users) == [uid]
        assert abs(revoked.users[uid] - now) < timedelta(milliseconds=1)
        assert await store.spend_refresh_token("hash-1", now) is None
        assert not await store.set_password(uuid.uuid4(), "x", tokens_valid_after=now)


async def test_a_refresh_token_is_spent_once_and_reuse_ends_its_session(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        uid, now = await user_id(store), datetime.now(UTC)
        for name in ("first", "second"):
            await store.save_refresh_token(RefreshToken(name, uid, "s1", now + HOUR))
        await store.save_refresh_token(RefreshToken("other", uid, "s2", now + HOUR))
        assert await store.spend_refresh_token("first", now) == SpentRefresh(uid, "s1", False)
        # the spent one again: a replay; the whole session s1 ends, s2 lives on
        assert await store.spend_refresh_token("first", now) == SpentRefresh(uid, "s1", True)
        assert await store.spend_refresh_token("second", now) is None
        assert await store.spend_refresh_token("first", now) is None
        assert await store.spend_refresh_token("other", now) == SpentRefresh(uid, "s2", False)
        assert await store.spend_refresh_token("unknown", now) is None


async def test_expired_refresh_tokens_are_refused(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        uid, now = await user_id(store), datetime.now(UTC)
        await store.save_refresh_token(RefreshToken("old", uid, "s1", now - HOUR))
        assert await store.spend_refresh_token("old", now) is None


async def test_revoking_a_session_ends_its_refresh_tokens(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        uid, now = await user_id(store), datetime.now(UTC)
        await store.save_refresh_token(RefreshToken("r1", uid, "s1", now + HOUR))
        await store.save_refresh_token(RefreshToken("r2", uid, "s2", now + HOUR))
        await store.revoke_session("s1", uid, now + HOUR)
        await store.revoke_session("s1", uid, now + 2 * HOUR)  # again: the later expiry wins
        await store.revoke_session("s1", uid, now + HOUR)
        assert await store.spend_refresh_token("r1", now) is None
        assert await store.spend_refresh_token("r2", now) == SpentRefresh(uid, "s2", False)
        sessions = (await store.load_revoked(now)).sessions
        assert list(sessions) == ["s1"]
        assert abs(sessions["s1"] - (now + 2 * HOUR)) < timedelta(milliseconds=1)


async def test_purge_keeps_what_a_check_still_needs(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        uid, now = await user_id(store), datetime.now(UTC)
        await store.revoke_token("jti-live", uid, now + HOUR)
        await store.revoke_token("jti-gone", uid, now - HOUR)
        for name, expires in (("old", now - HOUR), ("spent", now + HOUR), ("fresh", now + HOUR)):
            await store.save_refresh_token(RefreshToken(name, uid, f"s-{name}", expires))
        await store.save_refresh_token(RefreshToken("ended", uid, "s-ended", now + HOUR))
        await store.spend_refresh_token("spent", now)
        await store.revoke_session("s-ended", uid, now + HOUR)
        await store.revoke_session("s-gone", uid, now - HOUR)
        assert await store.purge_tokens(now) == 4  # jti-gone, s-gone, old, ended
        assert await store.purge_tokens(now) == 0
        revoked = await store.load_revoked(now)
        assert (list(revoked.tokens), list(revoked.sessions)) == (["jti-live"], ["s-ended"])
        # the spent one is kept: a replay is still told from an unknown token
        assert await store.spend_refresh_token("spent", now) == SpentRefresh(uid, "s-spent", True)
        assert await store.spend_refresh_token("fresh", now) == SpentRefresh(uid, "s-fresh", False)
