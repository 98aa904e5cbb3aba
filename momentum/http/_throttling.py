"""The auth throttles and the hashing queue as the settings make them, and the HTTP answers
they give: 429 with `Retry-After` for a throttled caller, 503 when hashing is saturated."""

from __future__ import annotations

from quart import request

from ..auth import AuthThrottles, BucketPolicy, HashQueue, ThrottlePolicy, retry_after
from ..config import Settings
from ..protocol import ErrorCode
from ._errors import ApiError

#: What a refused hash tells the client to wait: the queue drains in a fraction of that.
BUSY_RETRY_AFTER = "1"


def throttles(settings: Settings) -> AuthThrottles:
    return AuthThrottles(
        ThrottlePolicy(
            login_account=BucketPolicy(settings.login_account_burst, settings.login_account_refill),
            login_address=BucketPolicy(settings.login_ip_burst, settings.login_ip_refill),
            register_address=BucketPolicy(settings.register_ip_burst, settings.register_ip_refill),
            max_keys=settings.auth_throttle_max_keys,
        )
    )


def hash_queue(settings: Settings) -> HashQueue:
    return HashQueue(
        settings.hash_concurrency,
        max_logins_waiting=settings.hash_max_waiting_logins,
        max_signups_waiting=settings.hash_max_waiting_signups,
    )


def client_address(settings: Settings) -> str:
    """The caller's IP address: the peer's, or the one a trusted proxy forwarded."""
    peer = request.remote_addr or ""
    return settings.trusted_proxies.client_address(peer, request.headers.get("X-Forwarded-For"))


def throttled(wait: float, what: str) -> ApiError:
    return ApiError(
        429,
        ErrorCode.RATE_LIMITED,
        f"too many {what}: retry in {retry_after(wait)} s",
        headers={"Retry-After": retry_after(wait)},
    )


def hashing_busy() -> ApiError:
    return ApiError(
        503,
        ErrorCode.BUSY,
        "too many password checks are waiting: retry in a second",
        headers={"Retry-After": BUSY_RETRY_AFTER},
    )
