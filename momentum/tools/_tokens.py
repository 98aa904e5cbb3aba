"""Test users for `momentum stress`: provisioned through the admin API, or read from a file."""

from __future__ import annotations

from pathlib import Path

from ._http import HttpError, ToolError, base_url, request_json
from ._identity import credentials_from_token
from ._stress import Slot

#: The server's cap per `POST /users/provision` call.
PROVISION_BATCH = 10_000


async def provision_tokens(server_url: str, api_key: str, count: int, prefix: str) -> list[str]:
    """`count` fresh users' tokens from `POST /users/provision` (admin), in batches."""
    url = f"{base_url(server_url)}/users/provision"
    tokens: list[str] = []
    while len(tokens) < count:
        batch = min(PROVISION_BATCH, count - len(tokens))
        try:
            reply = await request_json(
                "POST", url, body={"count": batch, "prefix": prefix}, api_key=api_key
            )
        except HttpError as exc:
            hint = (
                " (is --api-key the server's MOMENTUM_API_KEY?)" if exc.status in (401, 403) else ""
            )
            raise ToolError(f"provisioning test users failed: {exc}{hint}") from None
        tokens.extend(user["token"] for user in reply["users"])
    return tokens


def read_tokens_file(path: str) -> list[str]:
    """One token a line (`momentum users create --print-tokens`); blanks and `#` skipped."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ToolError(f"cannot read --tokens-file {path}: {exc.strerror}") from None
    tokens = [line.strip() for line in text.splitlines()]
    tokens = [t for t in tokens if t and not t.startswith("#")]
    if not tokens:
        raise ToolError(f"--tokens-file {path} holds no tokens")
    return tokens


def slots_for(tokens: list[str], connections: int, worker: int = 0, workers: int = 1) -> list[Slot]:
    """The connections worker `worker` of `workers` opens: every `workers`-th one.

    Connection k uses token k modulo the number of tokens, so fewer tokens than connections
    means several connections per user (and the server's per-user limit applies).
    """
    users = [str(credentials_from_token(token).user_id) for token in tokens]
    return [
        Slot(k, tokens[k % len(tokens)], users[k % len(tokens)])
        for k in range(worker, connections, workers)
    ]
