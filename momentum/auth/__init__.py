"""Authentication: argon2 password hashing, HS256 access tokens, token extraction."""

from ._buckets import BucketPolicy, KeyedBuckets, retry_after
from ._errors import (
    AuthError,
    TokenExpired,
    TokenInvalid,
    TokenMissing,
    TokenRevoked,
    UserDisabled,
    UserUnknown,
    WeakPassword,
)
from ._extract import extract_token, redact
from ._fields import InvalidField, check_password, check_username, new_account, normalize_email
from ._grants import GRANT_TYPE, MAX_GRANT_ROOMS, RoomGrant, sign_room_grant
from ._passwords import PasswordHasher, check_password_policy
from ._provision import PREFIX_PATTERN, UNUSABLE_PASSWORD, provisioned_users
from ._queue import HashQueue, HashQueueFull, HashQueueStats, Priority
from ._refresh import new_refresh_token, refresh_token_hash
from ._revocations import Revocations
from ._throttle import AuthThrottles, ThrottlePolicy
from ._tokens import Claims, IssuedToken, TokenCodec
from ._verify import UserLookup, verify_user

__all__ = [
    "GRANT_TYPE",
    "MAX_GRANT_ROOMS",
    "PREFIX_PATTERN",
    "UNUSABLE_PASSWORD",
    "AuthError",
    "AuthThrottles",
    "BucketPolicy",
    "Claims",
    "HashQueue",
    "HashQueueFull",
    "HashQueueStats",
    "InvalidField",
    "IssuedToken",
    "KeyedBuckets",
    "PasswordHasher",
    "Priority",
    "Revocations",
    "RoomGrant",
    "ThrottlePolicy",
    "TokenCodec",
    "TokenExpired",
    "TokenInvalid",
    "TokenMissing",
    "TokenRevoked",
    "UserDisabled",
    "UserLookup",
    "UserUnknown",
    "WeakPassword",
    "check_password",
    "check_password_policy",
    "check_username",
    "extract_token",
    "new_account",
    "new_refresh_token",
    "normalize_email",
    "provisioned_users",
    "redact",
    "refresh_token_hash",
    "retry_after",
    "sign_room_grant",
    "verify_user",
]
