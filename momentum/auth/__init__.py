"""Authentication: argon2 password hashing, HS256 access tokens, token extraction."""

from ._errors import (
    AuthError,
    TokenExpired,
    TokenInvalid,
    TokenMissing,
    UserDisabled,
    UserUnknown,
    WeakPassword,
)
from ._extract import extract_token, redact
from ._fields import InvalidField, check_password, check_username, new_account, normalize_email
from ._passwords import PasswordHasher, check_password_policy
from ._provision import PREFIX_PATTERN, UNUSABLE_PASSWORD, provisioned_users
from ._tokens import Claims, IssuedToken, TokenCodec
from ._verify import UserLookup, verify_user

__all__ = [
    "PREFIX_PATTERN",
    "UNUSABLE_PASSWORD",
    "AuthError",
    "Claims",
    "InvalidField",
    "IssuedToken",
    "PasswordHasher",
    "TokenCodec",
    "TokenExpired",
    "TokenInvalid",
    "TokenMissing",
    "UserDisabled",
    "UserLookup",
    "UserUnknown",
    "WeakPassword",
    "check_password",
    "check_password_policy",
    "check_username",
    "extract_token",
    "new_account",
    "normalize_email",
    "provisioned_users",
    "redact",
    "verify_user",
]
