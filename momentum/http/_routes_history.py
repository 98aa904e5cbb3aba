"""`GET /ws/history`: the caller's direct conversation with one user, newest first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from quart import Blueprint, Response, request

from ..protocol import ErrorCode
from ..storage import MAX_CONVERSATION_LIMIT, StorageError, StoredMessage
from ._auth import authenticate
from ._common import int_arg, optional_int_arg, services, store_unavailable
from ._errors import ApiError, json_response

blueprint = Blueprint("history", __name__)

DEFAULT_LIMIT = 50


@blueprint.get("/ws/history")
async def history() -> Response:
    """`?with=<user id>&limit=50&before=<ISO time>&before_seq=<seq>`; page with `next`."""
    s = services()
    principal = await authenticate(s)
    if principal.user is None:
        raise ApiError(403, ErrorCode.FORBIDDEN, "history belongs to a user: use a user token")
    other = _uuid_arg("with")
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_CONVERSATION_LIMIT)
    before = _time_arg("before")
    before_seq = optional_int_arg("before_seq", 0, _MAX_SEQ)
    if before_seq is not None and before is None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "before_seq goes with before")
    try:
        page = await s.store.conversation(
            principal.user.id, other, before=before, before_seq=before_seq, limit=limit
        )
    except StorageError:
        raise store_unavailable() from None
    return json_response({"messages": [_message_json(m) for m in page], "next": _next(page, limit)})


def _message_json(message: StoredMessage) -> dict[str, Any]:
    envelope: dict[str, Any] = orjson.loads(message.envelope)
    envelope["seq"] = message.seq
    return envelope


def _next(page: list[StoredMessage], limit: int) -> dict[str, Any] | None:
    if len(page) < limit:
        return None
    oldest = page[-1]
    return {"before": oldest.created_at.isoformat(), "before_seq": oldest.seq}


#: Sequence numbers are 64-bit signed integers in the store.
_MAX_SEQ = 2**63 - 1


def _uuid_arg(name: str) -> uuid.UUID:
    raw = request.args.get(name)
    if raw is None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"?{name}=<user id> is required")
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(400, ErrorCode.INVALID_UUID, f"{name} must be a UUID") from None


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} needs a time zone (e.g. Z)")
    try:  # at the edges of the range, converting to UTC overflows
        return moment.astimezone(UTC)
    except OverflowError:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} is out of range") from None
