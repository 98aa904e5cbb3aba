"""How a load run ended: its verdict, its exit status, and what the errors mean.

Exit statuses (documented in docs/tools.md):

- 0 `EXIT_PASSED`: the success rate reached `--min-success`;
- 1 `EXIT_FAILED`: it did not (messages lost, connections failed or closed);
- 2 `EXIT_ERROR`: the run could not be made (bad flags, server unreachable, no users);
- 3 `EXIT_RATE_LIMITED`: it did not, and the server's rate limit was among the causes
  (`rate_limited` refusals or 4008 closes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..protocol import CloseCode

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_RATE_LIMITED = 3

#: What each close code means for a load tool (the server's table is docs/protocol.md).
CLOSE_MEANINGS: dict[int, str] = {
    CloseCode.NORMAL: "normal closure",
    CloseCode.GOING_AWAY: "the server is shutting down",
    1006: "the connection dropped without a close frame",
    CloseCode.INVALID_PAYLOAD: "a text frame was not valid UTF-8",
    CloseCode.MESSAGE_TOO_BIG: "a message exceeded the server's WS_MAX_MESSAGE_SIZE",
    CloseCode.INTERNAL_ERROR: "the server's connection actor crashed",
    CloseCode.SERVICE_RESTART: "the server's hub restarted; clients should reconnect",
    CloseCode.TOKEN_EXPIRED: "the token expired while connected",
    CloseCode.USER_DISABLED: "an admin disabled the user",
    CloseCode.DISCONNECTED: "an operator disconnected the user (the account stays enabled)",
    CloseCode.RATE_LIMITED: "rate limit: the connection kept sending faster than the "
    "server's WS_RATE_LIMIT allows (more than WS_RATE_BURST frames refused within 10 s)",
    CloseCode.SLOW_CONSUMER: "slow consumer: the server's queue of frames for the "
    "connection overflowed (WS_OUTBOX_SIZE); the tool read too slowly",
    CloseCode.STALE: "stale: no pong in time, or idle past the janitor's limit",
}


def describe_close(code: int | None) -> str:
    """`4008 RATE_LIMITED (rate limit: …)`: a close code with its name and meaning."""
    if code is None:
        return "no close code (the connection dropped)"
    try:
        name = f" {CloseCode(code).name}"
    except ValueError:
        name = ""
    meaning = CLOSE_MEANINGS.get(code)
    return f"{code}{name} ({meaning})" if meaning else f"{code}{name}"


def rate_limited(errors: Mapping[str, int]) -> bool:
    return bool(errors.get("error_rate_limited") or errors.get(f"close_{CloseCode.RATE_LIMITED}"))


def verdict(summary: Mapping[str, Any]) -> tuple[str, int]:
    """(verdict, exit status): "passed" only when nothing was lost and nothing failed."""
    clean = summary["messages"]["lost"] == 0 and summary["connections"]["failed"] == 0
    if summary["passed"]:
        return ("passed" if clean else "accepted", EXIT_PASSED)
    if rate_limited(summary["errors"]):
        return "rate_limited", EXIT_RATE_LIMITED
    return "failed", EXIT_FAILED


def explanations(summary: Mapping[str, Any]) -> list[str]:
    """What the errors mean and what usually causes them, one line each."""
    errors: Mapping[str, int] = summary["errors"]
    lines = []
    for kind, count in errors.items():
        if kind.startswith("close_"):
            code = kind.removeprefix("close_")
            described = describe_close(int(code)) if code.isdigit() else code
            lines.append(f"{count} connection(s) closed by the server with {described}")
    if rate_limited(errors):
        lines.append(_rate_limit_advice(summary["settings"]))
    if any(kind.startswith("handshake_429") for kind in errors):
        lines.append(
            "handshake 429: more connections per user than WS_MAX_CONNECTIONS_PER_USER "
            "(provision more users with --api-key, or give more tokens), or from this "
            "address than WS_MAX_CONNECTIONS_PER_IP (raise it on the server)"
        )
    if any(kind.startswith("handshake_503") for kind in errors):
        lines.append("handshake 503: the server is full (WS_MAX_CONNECTIONS) or stopping")
    if summary["verdict"] == "accepted":
        lost = summary["messages"]["lost"] + summary["connections"]["failed"]
        lines.append(f"not a clean pass: {lost} lost or failed, within --min-success")
    return lines


def _rate_limit_advice(settings: Mapping[str, Any]) -> str:
    limit, burst = settings.get("rate_limit", 0), settings.get("rate_burst", 0)
    refused = "the server refused frames (rate_limited, and 4008 after too many)"
    if limit:
        return (
            f"{refused} although each connection was paced to --rate-limit {limit:g}/s, "
            f"--rate-burst {burst}: the server's WS_RATE_LIMIT / WS_RATE_BURST are lower; "
            "pass its values as --rate-limit / --rate-burst, or raise them on the server"
        )
    return (
        f"{refused}: --rate-limit 0 sends unpaced; set --rate-limit to the server's "
        "WS_RATE_LIMIT (20/s by default), or start the server with WS_RATE_LIMIT=0"
    )
