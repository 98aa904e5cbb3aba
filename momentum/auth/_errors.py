"""The auth layer's error vocabulary.

`AuthError.code` is the machine-readable reason the HTTP and WebSocket layers put
in their `{"error": {"code", "message"}}` bodies; `AuthError.status` the HTTP status (401,
or 403 for a disabled user).
"""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """A request could not be authenticated; `status` is the HTTP status it maps to."""

    code: ClassVar[str] = "token_invalid"
    status: ClassVar[int] = 401


class TokenMissing(AuthError):
    """No token was presented."""

    code = "token_missing"


class TokenInvalid(AuthError):
    """Malformed, wrongly signed, wrong algorithm, or missing/invalid claims."""

    code = "token_invalid"


class TokenExpired(AuthError):
    """The token's `exp` (plus leeway) has passed."""

    code = "token_expired"


class TokenRevoked(AuthError):
    """The token was revoked: logged out, or issued before a password change."""

    code = "token_revoked"


class UserUnknown(AuthError):
    """A valid token whose user does not exist (any more)."""

    code = "user_unknown"


class UserDisabled(AuthError):
    """A valid token whose user is disabled."""

    code = "user_disabled"
    status = 403


class WeakPassword(ValueError):
    """The password does not meet the policy (length limits)."""
