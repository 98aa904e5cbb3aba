"""Records the store reads and writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    """A stored user. `email` is lowercased; `created_at` is timezone-aware UTC."""

    id: uuid.UUID
    email: str
    username: str
    password_hash: str
    is_active: bool
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewUser:
    """What a caller provides to create a user; the store assigns id and created_at."""

    email: str
    username: str
    password_hash: str
    is_admin: bool = False
    is_active: bool = True


def email_key(email: str) -> str:
    """The stored (and looked-up) form of an email: lowercased and trimmed."""
    return email.strip().lower()


def username_key(username: str) -> str:
    """Usernames are unique and found regardless of case."""
    return username.casefold()
