"""Accounts made in bulk for benchmarks and load tests: generated names, no usable password."""

from __future__ import annotations

import re
import secrets

from ..storage import NewUser

#: A password hash no password matches: provisioned users log in by token only.
UNUSABLE_PASSWORD = "!provisioned"

#: A prefix leaves room in a username (3-32 characters) for `-<batch>-<index>`.
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,12}$")


def provisioned_users(count: int, prefix: str, *, admin: bool = False) -> list[NewUser]:
    """`count` new users named `<prefix>-<batch>-<i>`; the random batch keeps runs apart."""
    batch = secrets.token_hex(3)
    return [
        NewUser(
            email=f"{prefix}-{batch}-{i}@provisioned.invalid",
            username=f"{prefix}-{batch}-{i}",
            password_hash=UNUSABLE_PASSWORD,
            is_admin=admin,
        )
        for i in range(count)
    ]
