"""Helpers shared by the route modules: the services, request bodies, user JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from quart import current_app, request

from actors import ActorError, ActorRef, Reply

from ..config import CALL_TIMEOUT
from ..protocol import TOO_BIG_INTEGER, ErrorCode, integers_fit
from ..storage import StorageError, User
from ._errors import ApiError
from ._services import Services

T = TypeVar("T")
M = TypeVar("M")


def services() -> Services:
    found: Services = current_app.extensions["momentum"]
    return found


async def json_body() -> dict[str, Any]:
    """The request's JSON object (size already capped by MAX_CONTENT_LENGTH)."""
    raw = await request.get_data(cache=False, as_text=False)
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, ErrorCode.INVALID_JSON, f"invalid JSON: {exc.msg}") from None
    if not isinstance(body, dict):
        raise ApiError(400, ErrorCode.BAD_REQUEST, "the body must be a JSON object")
    if not integers_fit(raw):
        raise ApiError(400, ErrorCode.INVALID_ENVELOPE, TOO_BIG_INTEGER)
    return body


def field(body: dict[str, Any], name: str, kind: type[T], *, required: bool = True) -> T | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} is required")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} must be a {kind.__name__}")
    return value


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "username": user.username,
        "is_active": user.is_active,
        "is_admin": user.is_admin,
        "created_at": user.created_at.isoformat(),
    }


async def ask(
    ref: ActorRef[M],
    build: Callable[[Reply[T]], M],
    *,
    timeout: float = CALL_TIMEOUT,  # noqa: ASYNC109 - passed on to ActorRef.call
) -> T:
    """`ref.call(build)` for a request handler: an actor that cannot answer is a 503."""
    try:
        return await ref.call(build, timeout=timeout)
    except ActorError as exc:
        raise ApiError(
            503, ErrorCode.UNAVAILABLE, f"the server is busy or stopping ({exc})"
        ) from None


def store_unavailable() -> ApiError:
    """503 for a failed store call, counted in the storage-error metric."""
    services().metrics.storage_errors.inc()
    return ApiError(503, ErrorCode.UNAVAILABLE, "the database is unavailable")


async def user_named(s: Services, username: str) -> User:
    """The account with this username (not an email: the name is how users address each
    other), or ApiError 404."""
    try:
        user = None if "@" in username else await s.store.find_user(username)
    except StorageError:
        raise store_unavailable() from None
    if user is None or user.username.casefold() != username.casefold():
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such user")
    return user


def optional_int_arg(name: str, low: int, high: int) -> int | None:
    """The query argument `name` as an integer within [low, high], or None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"{name} must be {low} to {high}")
    return value


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The query argument `name` as an integer within [low, high], or `default`."""
    value = optional_int_arg(name, low, high)
    return default if value is None else value
