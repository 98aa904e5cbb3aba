"""Where a token comes from on a request, and keeping it out of logs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs

#: The subprotocol Momentum clients offer next to `bearer.<token>`: JSON frames.
SUBPROTOCOL = "momentum"
#: The subprotocol of MessagePack frames (`protocol.WireFormat`).
SUBPROTOCOL_MSGPACK = "momentum.msgpack"
_SELECTABLE = (SUBPROTOCOL, SUBPROTOCOL_MSGPACK)
BEARER_PREFIX = "bearer."

_TOKEN_PARAM = re.compile(r"(?<=[?&;])token=[^&#;]*|^token=[^&#;]*")


def extract_token(
    query_string: str | bytes, headers: Iterable[tuple[bytes, bytes]]
) -> tuple[str | None, str | None]:
    """Return (token, subprotocol to select) from a WebSocket/HTTP request.

    Precedence: `Authorization: Bearer <t>`, then a `bearer.<t>` subprotocol
    offer, then `?token=`. The subprotocol selected is the first of `momentum` (JSON)
    and `momentum.msgpack` (MessagePack) in the client's order of offers, else None
    (JSON): a `bearer.<t>` offer is never selected, since selecting
    it would send the token back in the response (to proxies' logs, caches and
    anyone reading the response head). A browser offering only `bearer.<t>` fails
    that handshake (it requires one of its offers to be selected), so browsers
    offer `momentum` next to it.
    """
    authorization: str | None = None
    offers: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif lowered == b"sec-websocket-protocol":
            offers += [o.strip() for o in value.decode("latin-1").split(",") if o.strip()]

    bearer_offer = next((o for o in offers if o.lower().startswith(BEARER_PREFIX)), None)
    subprotocol = next((o for o in offers if o in _SELECTABLE), None)

    token = _bearer(authorization)
    if token is None and bearer_offer is not None:
        token = bearer_offer[len(BEARER_PREFIX) :] or None
    if token is None:
        token = _query_token(query_string)
    return token, subprotocol


def redact(url_or_target: str) -> str:
    """Replace every `token=` query value with `[REDACTED]`, for logging."""
    path, sep, rest = url_or_target.partition("?")
    if not sep:
        return url_or_target
    return path + sep + _TOKEN_PARAM.sub("token=[REDACTED]", rest)


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def _query_token(query_string: str | bytes) -> str | None:
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    values = parse_qs(query_string.lstrip("?")).get("token")
    return values[0] if values and values[0] else None
