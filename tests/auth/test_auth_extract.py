"""Finding the token on a request, and redacting it from logged URLs.

Rules: pure synchronous functions, no I/O and no awaits, so plain sync tests
(a `fail_after` around code without checkpoints could never fire).
"""

from __future__ import annotations

import pytest

from momentum.auth import extract_token, redact


def test_nothing_presented() -> None:
    assert extract_token(b"", []) == (None, None)
    assert extract_token("a=1&token=", [(b"Host", b"x")]) == (None, None)


def test_query_token() -> None:
    assert extract_token(b"token=abc.def.ghi", []) == ("abc.def.ghi", None)
    assert extract_token("?x=1&token=q1", []) == ("q1", None)


def test_authorization_header_wins() -> None:
    headers = [
        (b"Sec-WebSocket-Protocol", b"momentum, bearer.sub1"),
        (b"AUTHORIZATION", b"Bearer  hdr1 "),
    ]
    assert extract_token(b"token=q1", headers) == ("hdr1", "momentum")
    assert extract_token(b"", [(b"authorization", b"bearer hdr2")]) == ("hdr2", None)


def test_non_bearer_authorization_is_ignored() -> None:
    headers = [(b"Authorization", b"Basic dXNlcjpwYXNz")]
    assert extract_token(b"token=q1", headers) == ("q1", None)


def test_subprotocol_beats_query() -> None:
    headers = [(b"sec-websocket-protocol", b"momentum, bearer.sub1")]
    assert extract_token(b"token=q1", headers) == ("sub1", "momentum")


@pytest.mark.parametrize(
    ("offers", "expected"),
    [
        ([b"bearer.sub1"], ("sub1", None)),
        ([b"bearer.sub1", b"momentum"], ("sub1", "momentum")),
        ([b"chat, momentum"], (None, "momentum")),
        ([b"chat"], (None, None)),
        ([b"bearer.sub1, momentum.msgpack"], ("sub1", "momentum.msgpack")),
        ([b"momentum.msgpack, momentum"], (None, "momentum.msgpack")),  # the first offered
        ([b"momentum", b"momentum.msgpack"], (None, "momentum")),
        ([b"momentum.MSGPACK"], (None, None)),  # subprotocols are case-sensitive
    ],
)
def test_subprotocol_to_echo(offers: list[bytes], expected: tuple[str | None, str | None]) -> None:
    headers = [(b"Sec-WebSocket-Protocol", offer) for offer in offers]
    assert extract_token(b"", headers) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ws?token=abc.def", "/ws?token=[REDACTED]"),
        ("/ws?a=1&token=abc&b=2", "/ws?a=1&token=[REDACTED]&b=2"),
        ("/ws?token=a&token=b", "/ws?token=[REDACTED]&token=[REDACTED]"),
        ("ws://h:8000/ws?x=token=1&token=s#frag", "ws://h:8000/ws?x=token=1&token=[REDACTED]#frag"),
        ("/ws?mytoken=keep", "/ws?mytoken=keep"),
        ("/ws", "/ws"),
        ("/token=path", "/token=path"),
    ],
)
def test_redact(target: str, expected: str) -> None:
    assert redact(target) == expected
