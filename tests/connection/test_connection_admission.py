"""Origin checks for the WebSocket handshake (docs/protocol.md).

Rules of this module:
- Only the pure ``origin_allowed`` decision is tested here; handshakes with tokens and a
  store belong to the server tests. Sync tests: no I/O, no clock.
"""

from __future__ import annotations

import pytest

from momentum.connection import origin_allowed


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://chat.example", "chat.example"),
        ("https://chat.example:8000", "chat.example:8000"),
        ("http://CHAT.example:8000", "chat.EXAMPLE:8000"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://[::1]:8000", "[::1]:8000"),
    ],
)
def test_same_host_is_allowed_by_default(origin: str, host: str) -> None:
    assert origin_allowed(origin, host, None)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://evil.example", "chat.example"),
        ("http://chat.example:9000", "chat.example:8000"),  # the port is part of the host
        ("http://chat.example", "chat.example:8000"),
        ("http://chat.example:8000", "chat.example"),
        ("http://chat.example.evil.example", "chat.example"),
        ("null", "chat.example"),
        ("", "chat.example"),
        ("http://chat.example", None),  # no Host header: nothing to compare with
    ],
)
def test_other_hosts_are_refused_by_default(origin: str, host: str | None) -> None:
    assert not origin_allowed(origin, host, None)


ALLOWED = frozenset({"https://app.example", "http://localhost:3000"})


@pytest.mark.parametrize(
    "origin", ["https://app.example", "https://app.example/", "http://localhost:3000"]
)
def test_explicit_list_allows_its_origins(origin: str) -> None:
    assert origin_allowed(origin, "api.example", ALLOWED)


@pytest.mark.parametrize(
    "origin",
    [
        "http://app.example",  # scheme differs
        "https://app.example:443",
        "http://localhost:3001",
        "https://api.example",  # the server's own host is not implied by a list
        "null",
    ],
)
def test_explicit_list_refuses_the_rest(origin: str) -> None:
    assert not origin_allowed(origin, "api.example", ALLOWED)


def test_empty_list_refuses_everything() -> None:
    assert not origin_allowed("http://api.example", "api.example", frozenset())


@pytest.mark.parametrize("origin", ["https://anything.example", "null", "http://x:1"])
def test_star_allows_any_origin(origin: str) -> None:
    assert origin_allowed(origin, None, frozenset({"*"}))
    assert origin_allowed(origin, "api.example", frozenset({"*", "https://app.example"}))
