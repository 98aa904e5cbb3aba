"""The Quart-Trio application: every HTTP path except the `/ws` upgrade."""

from __future__ import annotations

import re
import uuid

from quart import Response, request
from quart_cors import cors
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from ..observability import request_id
from ..protocol import ErrorCode
from . import (
    _routes_auth,
    _routes_dashboard,
    _routes_history,
    _routes_ops,
    _routes_rooms,
    _routes_session,
    _routes_users,
    _routes_ws,
)
from ._errors import ApiError, error_response
from ._services import Services

REQUEST_ID_HEADER = "X-Request-Id"
#: A request id a client or a proxy sends is kept if it looks like one; else a fresh one.
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def create_app(services: Services) -> QuartTrio:
    app = QuartTrio("momentum")
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_request_body
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = True
    app.extensions["momentum"] = services
    for blueprint in (
        _routes_ws.blueprint,
        _routes_history.blueprint,
        _routes_auth.blueprint,
        _routes_session.blueprint,
        _routes_users.blueprint,
        _routes_rooms.blueprint,
        _routes_ops.blueprint,
        _routes_dashboard.blueprint,
    ):
        app.register_blueprint(blueprint)

    @app.before_request
    async def name_the_request() -> None:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        good = _GOOD_REQUEST_ID.fullmatch(sent) is not None
        request_id.set(sent if good else uuid.uuid4().hex)

    @app.after_request
    async def tell_the_request_id(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id.get() or ""
        return response

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status >= 500:  # a bug or a crash: the client did nothing wrong, say nothing more
            return error_response(status, ErrorCode.INTERNAL, "internal server error")
        code = {404: ErrorCode.NOT_FOUND, 413: ErrorCode.PAYLOAD_TOO_LARGE_HTTP}.get(
            status, ErrorCode.BAD_REQUEST
        )
        return error_response(status, code, error.description or error.name)

    origins = services.settings.http_allowed_origins
    if origins:
        # Browser pages of these origins may call the API: tokens travel in headers, never
        # in cookies, so no credentials are allowed.
        cors(
            app,
            allow_origin="*" if "*" in origins else sorted(origins),
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            expose_headers=["Retry-After", REQUEST_ID_HEADER],
            max_age=600,
        )
    return app
