"""When to reconnect, how long to wait, and when a token needs refreshing.

Pure functions and frozen settings, so the schedule is tested on its own: the connection
actor asks `next_step` what a failure means and sleeps what `Backoff.delay` says.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, replace

from ._errors import HandshakeRefused, MomentumError

SECONDS = 1.0

#: Close codes (docs/protocol.md#close-codes) the client acts on.
TOKEN_EXPIRED = 4001  # expired or revoked: a fresh token is the way back in
USER_DISABLED = 4003  # never reconnect
#: Handshake refusals a fresh token cures.
RENEWABLE_REFUSALS = frozenset({"token_expired", "token_invalid"})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)).

    Full jitter spreads the clients that lost the same server over the whole window, so
    they do not come back in one wave. `max_attempts` 0 keeps trying for ever.
    """

    base: float = 0.5 * SECONDS
    cap: float = 30 * SECONDS
    max_attempts: int = 0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt, 32))
        return rng.uniform(0, ceiling)

    def exhausted(self, attempt: int) -> bool:
        return self.max_attempts > 0 and attempt >= self.max_attempts


@dataclass(frozen=True)
class Step:
    """What a lost or refused connection means: `final` stops the client, `refresh` asks for
    a new token before the next attempt; `reason` is said to the application either way."""

    reason: str
    final: bool = False
    refresh: bool = False
    close_code: int | None = None
    close_reason: str = ""
    error: MomentumError | None = None


def after_close(code: int | None, reason: str, *, can_refresh: bool) -> Step:
    """The step after the server closed a connection that was open."""
    if code is None:
        return Step("the connection was lost")
    said = Step(
        f"closed by the server ({code}{': ' + reason if reason else ''})",
        close_code=code,
        close_reason=reason,
    )
    if code == USER_DISABLED:
        return replace(said, reason=f"{said.reason}: the user is disabled", final=True)
    if code == TOKEN_EXPIRED and not can_refresh:
        return replace(said, reason=f"{said.reason}: no token refresh is possible", final=True)
    if code == TOKEN_EXPIRED:
        return replace(said, reason=f"{said.reason}: refreshing the token", refresh=True)
    return said


def after_refusal(refused: HandshakeRefused, *, can_refresh: bool, refreshed: bool) -> Step:
    """The step after the server refused the handshake; `refreshed`: the token is a new one."""
    if refused.code in RENEWABLE_REFUSALS and can_refresh and not refreshed:
        return Step(f"{refused}: refreshing the token", refresh=True, error=refused)
    return Step(str(refused), final=not refused.retryable, error=refused)


def token_claims(token: str) -> dict[str, object]:
    """The JWT's claims, read without checking the signature (the server checks it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise MomentumError("the token is not a JWT (header.payload.signature)") from exc
    if not isinstance(claims, dict):
        raise MomentumError("the token's payload is not a JSON object")
    return claims


def token_expiry(token: str) -> float | None:
    """The token's `exp` (Unix seconds), or None when it has none."""
    exp = token_claims(token).get("exp")
    return float(exp) if isinstance(exp, int | float) else None


def token_subject(token: str) -> str:
    sub = token_claims(token).get("sub")
    if not isinstance(sub, str):
        raise MomentumError("the token has no subject (sub)")
    return sub


def refresh_delay(expires_at: float, now: float, lead: float) -> float:
    """Seconds from `now` until a token expiring at `expires_at` should be refreshed: `lead`
    before, or at half its remaining life when that is shorter; never negative."""
    remaining = expires_at - now
    return max(0.0, remaining - min(lead, remaining / 2))
