"""Authentication: argon2 password hashing, HS256 access tokens, token extraction."""

from ._errors import AuthError, TokenExpired, TokenInvalid, TokenMissing, WeakPassword
from ._extract import extract_token, redact
from ._passwords import PasswordHasher, check_password_policy
from ._tokens import Claims, IssuedToken, TokenCodec

__all__ = [
    "AuthError",
    "Claims",
    "IssuedToken",
    "PasswordHasher",
    "TokenCodec",
    "TokenExpired",
    "TokenInvalid",
    "TokenMissing",
    "WeakPassword",
    "check_password_policy",
    "extract_token",
    "redact",
]
