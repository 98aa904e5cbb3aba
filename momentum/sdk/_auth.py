"""Getting tokens for a client: a login, and a refresh callback that rotates refresh tokens."""

from __future__ import annotations

from typing import Any

from ._http import base_url, request_json
from ._options import RefreshToken


async def log_in(server_url: str, login: str, password: str) -> dict[str, Any]:
    """`POST /auth/login` (docs/api.md): `token`, `refresh_token`, `user`, expiries."""
    body = {"login": login, "password": password}
    reply: dict[str, Any] = await request_json(
        "POST", f"{base_url(server_url)}/auth/login", body=body
    )
    return reply


def refresh_from(server_url: str, refresh_token: str) -> RefreshToken:
    """A `refresh_token` callback for `ClientOptions`: spends the refresh token at
    `POST /auth/refresh` and keeps the new one it answers with (each is good once)."""
    url = f"{base_url(server_url)}/auth/refresh"
    current = refresh_token

    async def refresh() -> str:
        nonlocal current
        reply = await request_json("POST", url, body={"refresh_token": current})
        current = str(reply["refresh_token"])
        return str(reply["token"])

    return refresh
