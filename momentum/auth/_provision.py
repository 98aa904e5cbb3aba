"""Accounts made in bulk for benchmarks and load tests: generated names, no usable password."""

from __future__ import annotations

import re
import secrets

from ..storage import NewUser
from ._fields import check_username, normalize_email

#: A password hash no password matches: provisioned users log in by token only.
UNUSABLE_PASSWORD = "!provisioned"

#: A prefix leaves room in a username (3-32 characters) for `-<batch>-<index>`.
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,12}$")


def provisioned_users(count: int, prefix: str, *, admin: bool = False) -> list[NewUser]:
    """`count` new users named `<prefix>-<batch>-<i>`; the random batch keeps runs apart."""
    batch = secrets.token_hex(3)
    # Through the same rules as a registration: a generated name is a valid name.
    return [
        NewUser(
            email=normalize_email(f"{prefix}-{batch}-{i}@provisioned.invalid"),
            username=check_username(f"{prefix}-{batch}-{i}"),
            password_hash=UNUSABLE_PASSWORD,
            is_admin=admin,
        )
        for i in range(count)
    ]
