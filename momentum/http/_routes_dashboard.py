"""`/dashboard`: the operator's page, its sign-in, live feed and actions (docs/api.md).

Every `/dashboard/api/*` path but the sign-in needs a signed-in admin; every action (a
POST) also needs the session's CSRF token and a JSON body (`_dashboard_session`). Actions
call the same functions as the HTTP API (`_actions`) and are logged with who did them.
"""

from __future__ import annotations

import logging

from quart import Blueprint, Response, request

from .. import dashboard
from ..protocol import API_TYPES, ErrorCode, MessageType
from ._actions import (
    disconnect_user,
    publish_message,
    run_cleanup,
    set_user_flags,
    validate_message,
)
from ._cluster import online_users
from ._common import field, json_body, services, user_json, user_named
from ._dashboard_feed import stream
from ._dashboard_session import (
    check_credentials,
    clear_session_cookie,
    require_action,
    require_json,
    require_session,
    set_session_cookie,
)
from ._errors import ApiError, json_response
from ._revoke import revoke_access_token

blueprint = Blueprint("dashboard", __name__)
log = logging.getLogger("momentum.dashboard")

#: Most online users one search lists.
MAX_LISTED = 200
MAX_NOTICE = 2000

#: The page loads nothing from elsewhere and runs no inline script.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@blueprint.get("/dashboard")
async def page() -> Response:
    return _static("index.html")


@blueprint.get("/dashboard/static/<name>")
async def static(name: str) -> Response:
    if name not in dashboard.FILES:
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such file")
    return _static(name)


@blueprint.post("/dashboard/api/login")
async def login() -> Response:
    s = services()
    require_json()
    body = await json_body()
    handle = field(body, "username", str) or ""
    user = await check_credentials(s, handle, field(body, "password", str) or "")
    token = s.codec.issue(user.id, user.email, user.username).token
    log.info("dashboard: %s signed in", user.username)
    response = json_response({"user": user_json(user)})
    set_session_cookie(response, token, s.settings.jwt_ttl)
    return response


@blueprint.get("/dashboard/api/session")
async def session() -> Response:
    """Who is signed in and the session's CSRF token; `{"user": null}` when no one is."""
    s = services()
    try:
        found = await require_session(s)
    except ApiError as exc:
        if exc.status not in (401, 403):
            raise
        return json_response({"user": None, "csrf": None})
    csrf = found.csrf(s.settings.jwt_secret)
    return json_response({"user": user_json(found.user), "csrf": csrf})


@blueprint.post("/dashboard/api/logout")
async def logout() -> Response:
    s = services()
    found = await require_action(s)
    await revoke_access_token(s, found.user.id, found.claims)
    log.info("dashboard: %s signed out (session token revoked)", found.user.username)
    response = json_response({"signed_out": True})
    clear_session_cookie(response)
    return response


@blueprint.get("/dashboard/api/events")
async def events() -> Response:
    s = services()
    found = await require_session(s)
    response = Response(
        stream(s, found.token),
        content_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # a stream, not a request that should finish
    return response


@blueprint.get("/dashboard/api/online")
async def online() -> Response:
    s = services()
    await require_session(s)
    query = request.args.get("q", "").strip().casefold()
    users = [u for u in await online_users(s) if query in u.username.casefold()]
    users.sort(key=lambda u: u.username.casefold())
    listed = [
        {"id": str(u.user_id), "username": u.username, "connections": u.connections}
        for u in users[:MAX_LISTED]
    ]
    return json_response({"users": listed, "matched": len(users)})


@blueprint.post("/dashboard/api/broadcast")
async def broadcast() -> Response:
    s = services()
    found = await require_action(s)
    content = _notice(await json_body())
    body = {"message_type": MessageType.SYSTEM_MESSAGE.value, "data": {"content": content}}
    inbound = validate_message(body, found.user.id, API_TYPES)
    delivery = await publish_message(s, inbound, found.user.id)
    log.info(
        "dashboard: %s broadcast a notice to %d connection(s)",
        found.user.username,
        delivery.delivered,
    )
    return json_response({"id": inbound.id, "recipients": delivery.delivered})


@blueprint.post("/dashboard/api/send")
async def send() -> Response:
    s = services()
    found = await require_action(s)
    body = await json_body()
    content = _notice(body)
    user = await user_named(s, field(body, "username", str) or "")
    message = {
        "message_type": MessageType.NOTIFICATION.value,
        "to_user_id": str(user.id),
        "data": {"content": content},
    }
    inbound = validate_message(message, found.user.id, API_TYPES)
    delivery = await publish_message(s, inbound, found.user.id)
    log.info("dashboard: %s sent a notice to %s", found.user.username, user.username)
    return json_response(
        {"id": inbound.id, "delivered": delivery.delivered, "stored": delivery.stored}
    )


@blueprint.post("/dashboard/api/users/active")
async def set_active() -> Response:
    """Enable or disable a user (`{"username", "is_active"}`); disabling closes its
    connections with 4003."""
    s = services()
    found = await require_action(s)
    body = await json_body()
    is_active = field(body, "is_active", bool)
    user = await user_named(s, field(body, "username", str) or "")
    if user.id == found.user.id and not is_active:
        raise ApiError(400, ErrorCode.BAD_REQUEST, "you cannot disable yourself here")
    by = f"{found.user.username} (dashboard)"
    changed, closed = await set_user_flags(s, user.id, is_active=is_active, is_admin=None, by=by)
    return json_response({"user": user_json(changed), "closed_connections": closed})


@blueprint.post("/dashboard/api/users/disconnect")
async def disconnect() -> Response:
    """Close a user's connections (4004) on every node without disabling it (`{"username"}`)."""
    s = services()
    found = await require_action(s)
    user = await user_named(s, field(await json_body(), "username", str) or "")
    closed = await disconnect_user(s, user, by=f"{found.user.username} (dashboard)")
    return json_response({"user": user_json(user), "closed_connections": closed})


@blueprint.post("/dashboard/api/cleanup")
async def cleanup() -> Response:
    s = services()
    found = await require_action(s)
    removed = await run_cleanup(s, by=f"{found.user.username} (dashboard)")
    return json_response({"removed": removed})


def _notice(body: dict[str, object]) -> str:
    content = field(body, "content", str) or ""
    if not content.strip() or len(content) > MAX_NOTICE:
        raise ApiError(400, ErrorCode.BAD_REQUEST, f"content: 1 to {MAX_NOTICE} characters")
    return content


def _static(name: str) -> Response:
    return Response(
        dashboard.read_file(name), content_type=dashboard.FILES[name], headers=_PAGE_HEADERS
    )
