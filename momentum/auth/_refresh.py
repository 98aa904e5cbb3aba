"""Refresh tokens: opaque random strings; the store keeps only their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

#: Random bytes in a refresh token (base64url: 43 characters).
REFRESH_BYTES = 32


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_BYTES)


def refresh_token_hash(token: str) -> str:
    """What the store keeps: a stolen database does not hold usable refresh tokens."""
    return hashlib.sha256(token.encode()).hexdigest()
