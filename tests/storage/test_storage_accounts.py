"""The storage contract for account administration: list, set a password, delete.

Rules: every test runs against each `store_url` param (sqlite and the memory store always,
postgresql when MOMENTUM_TEST_POSTGRES_URL is set) on the real clock, since these tests talk
to real databases; each body runs under `trio.fail_after`. Only the public storage API.
"""

from __future__ import annotations

import pytest
import trio

from momentum.storage import NewUser, Store

TIMEOUT = 20


def new_user(name: str) -> NewUser:
    return NewUser(f"{name.lower()}@example.com", name, f"hash-{name}")


async def test_list_users_pages_by_username_ignoring_case(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        made = await store.create_users([new_user(n) for n in ("carol", "Alice", "bob", "Dave")])
        by_name = {u.username: u for u in made}
        first = await store.list_users(limit=2)
        assert first == [by_name["Alice"], by_name["bob"]]
        rest = await store.list_users(after=first[-1].username, limit=10)
        assert rest == [by_name["carol"], by_name["Dave"]]
        assert await store.list_users(after="dave") == []
        assert await store.list_users() == [*first, *rest]
        with pytest.raises(ValueError):
            await store.list_users(limit=0)


async def test_delete_user_frees_the_name_and_email(store: Store) -> None:
    with trio.fail_after(TIMEOUT):
        user, other = await store.create_users([new_user("alice"), new_user("bob")])
        assert await store.delete_user(user.id) is True
        assert await store.get_user(user.id) is None
        assert await store.find_user("alice@example.com") is None
        assert await store.delete_user(user.id) is False
        assert await store.count_users() == 1
        assert await store.get_user(other.id) == other
        again = await store.create_user(new_user("ALICE"))
        assert await store.find_user("alice") == again
