"""The Quart-Trio application: every HTTP path except the `/ws` upgrade."""

from __future__ import annotations

from quart import Response
from quart_cors import cors
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from ..protocol import ErrorCode
from . import (
    _routes_auth,
    _routes_history,
    _routes_ops,
    _routes_session,
    _routes_users,
    _routes_ws,
)
from ._errors import ApiError, error_response
from ._services import Services


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
        _routes_ops.blueprint,
    ):
        app.register_blueprint(blueprint)

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
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
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    return app
