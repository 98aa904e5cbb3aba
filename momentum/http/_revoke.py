"""Revoking an access token: the store first, then this process's `Revocations`, then the
hub (open connections of the token close with 4001) and the other nodes. `/auth/logout` and
the dashboard's sign-out both end here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ..auth import Claims
from ..hub import RevokeTokens
from ..storage import StorageError
from ._common import store_unavailable
from ._services import Services


async def revoke_access_token(s: Services, user_id: uuid.UUID, claims: Claims) -> None:
    """Token `claims.jti` is refused everywhere from now until it would have expired."""
    exp = claims.exp + s.codec.leeway
    try:
        await s.store.revoke_token(claims.jti, user_id, datetime.fromtimestamp(exp, UTC))
    except StorageError:
        raise store_unavailable() from None
    s.revocations.revoke(claims.jti, exp)
    await announce_revoked(s, {"user_id": str(user_id), "jti": claims.jti, "exp": exp})


async def announce_revoked(s: Services, revoked: dict[str, Any]) -> None:
    """Close the connections of revoked tokens, here and on every other node."""
    user_id = uuid.UUID(revoked["user_id"])
    jti, before_ms = revoked.get("jti"), int(revoked.get("before_ms", 0))
    await s.hub.cast(RevokeTokens(user_id, jti, before_ms, revoked.get("session")))
    if s.cluster is not None:
        s.cluster.broker.publish_control({"op": "revoke", **revoked})
