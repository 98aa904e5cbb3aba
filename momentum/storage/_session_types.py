"""Records of the token store: revocations and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Revoked:
    """What is revoked: access tokens by `jti` and by session (`sid`), each until it
    expires, and per user every token issued before a time (a password change)."""

    tokens: Mapping[str, datetime]
    users: Mapping[uuid.UUID, datetime]
    sessions: Mapping[str, datetime]


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A refresh token as stored: the SHA-256 (hex) of the token, never the token."""

    token_hash: str
    user_id: uuid.UUID
    session_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SpentRefresh:
    """A refresh token that was spent: whose, which session, and whether it had been spent
    before (`reused`: the session is ended, every token of it revoked)."""

    user_id: uuid.UUID
    session_id: str
    reused: bool
