"""In-band token refresh: a new access token handed over on a live connection (`auth`).

`{"id", "message_type": "auth", "data": {"token"}}` is checked exactly as at the handshake
(the gatekeeper: signature, claims, revocation, the user) and must name the connection's own
user. Accepted, the connection's expiry (the heartbeat's 4001 deadline) becomes the new
token's `exp`, the handle takes the new token's identity (revoking it, or its session, now
closes the connection) and the client gets `ack {ref_id, expires_at}`. Refused, it gets an
`error` with the reason and keeps its old expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import trio

from actors import ActorRef

from ..hub import Refused
from ..protocol import (
    ErrorCode,
    Inbound,
    MessageType,
    encode_envelope,
    encode_error,
    text_frame,
)
from ._admission import Gatekeeper
from ._handle import Handle
from ._heartbeat import Extend, HeartbeatMsg

#: The longest token a client may hand over (a Momentum access token is about 300 bytes).
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class Reauth:
    """What a token refresh needs: the handshake's checks, the heartbeat that holds the
    connection's expiry, and the wall clock tokens are dated by."""

    gatekeeper: Gatekeeper
    heartbeat: ActorRef[HeartbeatMsg]
    wall_clock: Callable[[], float]


async def refresh_token(handle: Handle, inbound: Inbound, reauth: Reauth) -> None:
    """Check the token of an `auth` frame; extend the connection's life, or refuse."""
    ref_id = inbound.ref_id
    token = inbound.data.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        message = f"an auth needs data.token: the new access token (at most {MAX_TOKEN_LENGTH})"
        _refuse(handle, ErrorCode.INVALID_ENVELOPE, message, ref_id)
        return
    verdict = await reauth.gatekeeper.check_token(token)
    if isinstance(verdict, Refused):
        _refuse(handle, verdict.code, verdict.message, ref_id)
        return
    claims = verdict.claims
    if claims.sub != handle.user_id:
        _refuse(handle, ErrorCode.FORBIDDEN, "the token is another user's", ref_id)
        return
    # Revoked while the user was looked up: its RevokeTokens went to the hub meanwhile.
    if reauth.gatekeeper.revoked(claims):
        _refuse(handle, ErrorCode.TOKEN_REVOKED, "this token was revoked: log in again", ref_id)
        return
    if handle.closing:
        return
    handle.token_id = claims.jti
    handle.token_issued_ms = claims.issued_ms
    handle.token_session = claims.session
    expires_at = trio.current_time() + (claims.exp - reauth.wall_clock())
    await reauth.heartbeat.cast(Extend(handle.conn_id, expires_at))
    data = {"ref_id": ref_id, "expires_at": _iso(claims.exp)}
    ack = encode_envelope(MessageType.ACK, data, to_user_id=handle.user_id)
    handle.send(text_frame(ack))


def _iso(epoch_seconds: int) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _refuse(handle: Handle, code: ErrorCode, message: str, ref_id: str) -> None:
    frame = encode_error(code, message, ref_id=ref_id, to_user_id=handle.user_id)
    handle.send(text_frame(frame))
