"""The auth layer's error vocabulary.

`AuthError.code` is the machine-readable reason the HTTP and WebSocket layers put
in their `{"error": {"code", "message"}}` bodies (all map to HTTP 401).
"""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """A request could not be authenticated."""

    code: ClassVar[str] = "token_invalid"


class TokenMissing(AuthError):
    """No token was presented."""

    code = "token_missing"


class TokenInvalid(AuthError):
    """Malformed, wrongly signed, wrong algorithm, or missing/invalid claims."""

    code = "token_invalid"


class TokenExpired(AuthError):
    """The token's `exp` (plus leeway) has passed."""

    code = "token_expired"


class WeakPassword(ValueError):
    """The password does not meet the policy (length limits)."""
