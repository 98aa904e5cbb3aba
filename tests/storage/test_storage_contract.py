"""The storage contract, written once and run against every backend.

Rules: every test runs against each `store_url` param (sqlite and the test suite's memory
store always, except tests marked `database_only`; postgresql when
MOMENTUM_TEST_POSTGRES_URL is set) on the real clock, since these tests talk to real
databases; each body runs under `trio.fail_after`.
Tests use only the public `momentum.storage` API.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
import trio

from momentum.storage import NewUser, Store, UserExists, open_store

TIMEOUT = 20
#: Every migration shipped: 0001 users, 0002 messages, 0003 revoked tokens, 0004 refresh tokens,
#: 0005 pending totals, 0007 rooms.
MIGRATIONS = (1, 2, 3, 4, 5, 7, 8)


def new_user(n: int | str, **kwargs: bool) -> NewUser:
    return NewUser(f"user{n}@example.com", f"user{n}", f"hash-{n}", **kwargs)


async def test_create_then_get(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        created = await store.create_user(NewUser("Alice@Example.COM", "Alice", "h"))
        assert created.email == "alice@example.com"
        assert created.username == "Alice"
        assert (created.is_active, created.is_admin) == (True, False)
        assert created.created_at.tzinfo is not None
        assert created.created_at.utcoffset() == timedelta(0)
        assert await store.get_user(created.id) == created
        assert await store.get_user(uuid.uuid4()) is None


async def test_find_by_email_or_username_ignoring_case(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        alice = await store.create_user(NewUser("alice@example.com", "Alice", "h"))
        for login in ["alice@example.com", "ALICE@example.com", "Alice", "alice"]:
            assert await store.find_user(login) == alice, login
        assert await store.find_user("bob") is None
        assert await store.find_user("") is None


async def test_email_match_wins_over_username_match(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        odd = await store.create_user(NewUser("odd@example.com", "carol@example.com", "h"))
        carol = await store.create_user(NewUser("carol@example.com", "carol", "h"))
        assert await store.find_user("carol@example.com") == carol
        assert await store.find_user("odd@example.com") == odd


@pytest.mark.parametrize(
    ("duplicate", "field"),
    [
        (NewUser("ALICE@example.com", "someone", "h"), "email"),
        (NewUser("other@example.com", "ALICE", "h"), "username"),
    ],
)
async def test_duplicates_raise_user_exists(store: Store, duplicate: NewUser, field: str) -> None:
    with trio.fail_after(TIMEOUT):
        await store.create_user(NewUser("alice@example.com", "alice", "h"))
        with pytest.raises(UserExists) as caught:
            await store.create_user(duplicate)
        assert caught.value.field == field
        assert await store.count_users() == 1


async def test_bulk_create_2000_users(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        users = await store.create_users([new_user(i) for i in range(2000)])
        assert len(users) == 2000
        assert len({u.id for u in users}) == 2000
        assert await store.count_users() == 2000
        assert await store.find_user("user1999") == users[1999]
        assert await store.get_user(users[0].id) == users[0]
        assert await store.create_users([]) == []


async def test_conflicting_bulk_inserts_nothing(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        await store.create_user(new_user("taken"))
        batch = [new_user(i) for i in range(100)] + [new_user("taken")]
        with pytest.raises(UserExists):
            await store.create_users(batch)
        with pytest.raises(UserExists) as caught:
            await store.create_users([new_user(1), NewUser("x@example.com", "USER1", "h")])
        assert caught.value.field == "username"
        assert await store.count_users() == 1
        assert await store.find_user("user0") is None


async def test_set_user_flags(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        user = await store.create_user(new_user(1))
        disabled = await store.set_user_flags(user.id, is_active=False)
        assert disabled == replace(user, is_active=False)
        admin = await store.set_user_flags(user.id, is_admin=True)
        assert admin == replace(user, is_active=False, is_admin=True)
        unchanged = await store.set_user_flags(user.id)
        assert unchanged == admin
        assert await store.get_user(user.id) == admin
        assert await store.set_user_flags(uuid.uuid4(), is_active=True) is None


async def test_create_with_flags(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        user = await store.create_user(new_user(1, is_admin=True, is_active=False))
        assert (user.is_admin, user.is_active) == (True, False)
        assert await store.get_user(user.id) == user


async def test_check_and_count(store: Store, backend: str) -> None:
    with trio.fail_after(TIMEOUT):
        await store.check()
        assert await store.count_users() == 0
        assert store.backend == backend


@pytest.mark.database_only("no migrations, and nothing outlives the store")
async def test_migrations_are_applied_once(store_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_store(store_url) as first:
            assert first.migrations_applied == MIGRATIONS
            assert await first.schema_version() == MIGRATIONS[-1]
            user = await first.create_user(new_user(1))
        async with open_store(store_url) as second:
            assert second.migrations_applied == ()
            assert await second.schema_version() == MIGRATIONS[-1]
            assert await second.get_user(user.id) == user


async def test_created_at_is_utc_now(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        user = await store.create_user(new_user(1))
        assert user.created_at.tzinfo is not None
        assert user.created_at.astimezone(UTC) == user.created_at


async def test_get_users_returns_the_existing_ones_by_id(store: Store) -> None:
    with trio.fail_after(10):
        users = await store.create_users([new_user(f"many{i}") for i in range(300)])
        wanted = [u.id for u in users[:250]] + [uuid.uuid4(), users[0].id]
        found = await store.get_users(wanted)
        assert found == {u.id: u for u in users[:250]}
        assert await store.get_users([]) == {}
