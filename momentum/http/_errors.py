"""HTTP errors: one exception, one JSON body shape `{"error": {"code", "message"}}`."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Response

from ..protocol import ErrorCode


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def error_response(
    status: int, code: ErrorCode | str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"error": {"code": str(code), "message": message}}, status, headers)
