"""Password hashing and policy.

Rules: argon2 runs with minimal cost (see conftest); hashing runs in worker
threads on the real clock; each body runs under `trio.fail_after`.
"""

from __future__ import annotations

import argon2
import pytest
import trio

from momentum.auth import UNUSABLE_PASSWORD, PasswordHasher, WeakPassword, check_password_policy

TIMEOUT = 10


async def test_hash_verify_round_trip(hasher: PasswordHasher) -> None:
    with trio.fail_after(TIMEOUT):
        hashed = await hasher.hash("correct horse battery")
        assert hashed.startswith("$argon2id$")
        assert "correct horse" not in hashed
        assert await hasher.verify(hashed, "correct horse battery")
        assert not await hasher.verify(hashed, "correct horse battery!")
        assert await hasher.hash("correct horse battery") != hashed


async def test_verify_unknown_user_or_garbage_hash_is_false(hasher: PasswordHasher) -> None:
    with trio.fail_after(TIMEOUT):
        assert not await hasher.verify(None, "momentum-dummy-password")
        assert not await hasher.verify(None, "whatever12")
        assert not await hasher.verify("not-a-hash", "whatever12")
        hashed = await hasher.hash("x" * 256)
        assert not await hasher.verify(hashed, "x" * 257)


@pytest.mark.parametrize("password", ["", "short", "1234567", "x" * 257])
async def test_policy_rejects_bad_lengths(hasher: PasswordHasher, password: str) -> None:
    with trio.fail_after(TIMEOUT):
        with pytest.raises(WeakPassword, match="8 to 256 characters"):
            await hasher.hash(password)
        with pytest.raises(ValueError):
            check_password_policy(password)


async def test_policy_accepts_limits(hasher: PasswordHasher) -> None:
    with trio.fail_after(TIMEOUT):
        for password in ["12345678", "é" * 256]:
            check_password_policy(password)
            assert await hasher.verify(await hasher.hash(password), password)


async def test_needs_rehash_when_parameters_change(hasher: PasswordHasher) -> None:
    with trio.fail_after(TIMEOUT):
        hashed = await hasher.hash("password123")
        assert not hasher.needs_rehash(hashed)
        stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
        assert stronger.needs_rehash(hashed)
        assert await stronger.verify(hashed, "password123")
        assert hasher.needs_rehash("garbage")


async def test_every_failed_check_costs_one_real_hash(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown login and a token-only account (no usable password) are checked against
    a real argon2 hash, like a wrong password: their failures take as long."""
    checked: list[str] = []
    original = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, target: str | bytes, password: str | bytes) -> bool:
        checked.append(str(target))
        return original(self, target, password)

    with trio.fail_after(TIMEOUT):
        real = await hasher.hash("correct horse battery")
        monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
        for stored in (real, None, UNUSABLE_PASSWORD, "not-a-hash"):
            assert not await hasher.verify(stored, "wrong password")
    assert checked[0] == real
    assert all(target.startswith("$argon2id$") for target in checked)
    assert len(checked) == 4
