"""Who the tools connect as: a token from logging in, registering first, or given outright."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ..sdk._policy import token_claims
from ._http import HttpError, ToolError, base_url, request_json

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str
    user_id: uuid.UUID
    username: str


@dataclass(frozen=True, slots=True)
class Login:
    """How to get a token: `token` as is, or log in (after registering when `register`)."""

    server_url: str
    username: str | None = None
    email: str | None = None
    password: str | None = None
    register: bool = False
    token: str | None = None

    @property
    def can_log_in(self) -> bool:
        return self.password is not None and bool(self.username or self.email)


def credentials_from_token(token: str) -> Credentials:
    claims = token_claims(token)
    try:
        user_id = uuid.UUID(str(claims.get("sub")))
    except ValueError:
        raise ToolError("the token's sub claim is not a user id") from None
    return Credentials(token, user_id, str(claims.get("username") or user_id))


async def obtain_credentials(login: Login, say: Say) -> Credentials:
    """Log in (registering first if asked) or take the given token; say what is happening."""
    if login.token is not None:
        credentials = credentials_from_token(login.token)
        say(f"using the given token for {credentials.username}")
        return credentials
    if not login.can_log_in:
        raise ToolError("give --token, or --username/--email with --password")
    base = base_url(login.server_url)
    if login.register:
        await _register(base, login, say)
    say(f"logging in to {base} as {login.username or login.email}")
    handle = {"username": login.username} if login.username else {"email": login.email}
    try:
        reply = await request_json(
            "POST", f"{base}/auth/login", body={**handle, "password": login.password}
        )
    except HttpError as exc:
        if exc.code == "invalid_credentials":
            raise ToolError("login refused: wrong username/email or password") from None
        raise ToolError(f"login refused: {exc}") from None
    user = reply["user"]
    return Credentials(reply["token"], uuid.UUID(user["id"]), user["username"])


async def _register(base: str, login: Login, say: Say) -> None:
    if not (login.username and login.email):
        raise ToolError("--register needs both --username and --email")
    body = {"username": login.username, "email": login.email, "password": login.password}
    try:
        await request_json("POST", f"{base}/auth/register", body=body)
    except HttpError as exc:
        if exc.status == 409:
            say(f"{exc.message}: the account exists, logging in")
            return
        raise ToolError(f"registration refused: {exc}") from None
    say(f"registered {login.username} <{login.email}>")
