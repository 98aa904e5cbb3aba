"""JWT issue/verify: claims, expiry on an injected clock, algorithm pinning.

Rules: no sleeping; time is the `ManualClock` handed to TokenCodec (a wall
clock in epoch seconds, moved by hand). Hostile tokens are crafted by hand so
that no verifier code path is used to build them. The codec is synchronous,
so these are plain sync tests (a `fail_after` without checkpoints never fires).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from momentum.auth import AuthError, TokenCodec, TokenExpired, TokenInvalid, TokenMissing

from .conftest import SECRET, START, ManualClock

USER = uuid.UUID("7b7d2f50-7a3e-4d52-9d1c-0a1f4c8e9b10")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft(header: dict[str, Any], payload: dict[str, Any], digest: Any = hashlib.sha256) -> str:
    """Sign header.payload with HMAC(SECRET) whatever the header claims."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def payload(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": str(USER),
        "email": "a@example.com",
        "username": "a",
        "iat": int(START),
        "exp": int(START) + 60,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_issue_then_verify(codec: TokenCodec) -> None:
    issued = codec.issue(USER, "a@example.com", "alice")
    assert issued.expires_at == datetime.fromtimestamp(START + 3600, UTC)
    raw = jwt.decode(issued.token, options={"verify_signature": False})
    assert set(raw) == {"sub", "email", "username", "exp", "iat", "jti", "typ"}
    assert raw["typ"] == "access"
    assert raw["sub"] == str(USER)
    assert (raw["iat"], raw["exp"]) == (int(START), int(START) + 3600)
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"
    claims = codec.verify(issued.token)
    assert claims.sub == USER
    assert (claims.email, claims.username, claims.jti) == ("a@example.com", "alice", issued.jti)
    assert (claims.iat, claims.exp) == (int(START), int(START) + 3600)
    assert codec.issue(USER, "a@example.com", "alice").jti != issued.jti


def test_expiry_and_leeway_follow_the_clock(codec: TokenCodec, clock: ManualClock) -> None:
    token = codec.issue(USER, "a@example.com", "alice").token
    clock.advance(3600 + 29)
    assert codec.verify(token).sub == USER
    clock.advance(1)
    with pytest.raises(TokenExpired) as caught:
        codec.verify(token)
    assert caught.value.code == "token_expired"


def test_token_from_the_future_is_invalid(codec: TokenCodec, clock: ManualClock) -> None:
    assert codec.verify(craft({"alg": "HS256", "typ": "JWT"}, payload(iat=int(START) + 30)))
    with pytest.raises(TokenInvalid, match="future"):
        codec.verify(craft({"alg": "HS256"}, payload(iat=int(START) + 31, exp=START + 99)))
    with pytest.raises(TokenInvalid, match="not yet valid"):
        codec.verify(craft({"alg": "HS256"}, payload(nbf=int(START) + 100)))


def test_bad_signature(codec: TokenCodec) -> None:
    other = TokenCodec("another-secret-0123456789abcdef-xyz", now=lambda: START)
    with pytest.raises(TokenInvalid) as caught:
        codec.verify(other.issue(USER, "a@example.com", "a").token)
    assert caught.value.code == "token_invalid"
    token = codec.issue(USER, "a@example.com", "a").token
    head, _, signature = token.split(".")
    forged_body = b64(json.dumps(payload(username="admin")).encode())
    with pytest.raises(TokenInvalid):
        codec.verify(f"{head}.{forged_body}.{signature}")


def test_alg_none_is_rejected(codec: TokenCodec) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload()).encode())
    for token in [f"{header}.{body}.", f"{header}.{body}"]:
        with pytest.raises(TokenInvalid):
            codec.verify(token)


@pytest.mark.parametrize(
    ("alg", "digest"),
    [("HS384", hashlib.sha384), ("HS512", hashlib.sha512), ("RS256", hashlib.sha256)],
)
def test_other_algorithms_are_rejected(codec: TokenCodec, alg: str, digest: Any) -> None:
    # HS384/HS512 correctly signed with our secret; RS256 is the classic
    # confusion attack (an HMAC made with a "public key" as secret).
    with pytest.raises(TokenInvalid):
        codec.verify(craft({"alg": alg, "typ": "JWT"}, payload(), digest))


@pytest.mark.parametrize("missing", ["sub", "exp", "iat"])
def test_required_claims(codec: TokenCodec, missing: str) -> None:
    claims = payload()
    del claims[missing]
    with pytest.raises(TokenInvalid):
        codec.verify(craft({"alg": "HS256"}, claims))


@pytest.mark.parametrize(
    "bad",
    [
        {"sub": "not-a-uuid"},
        {"sub": 42},
        {"exp": "tomorrow"},
        {"iat": True},
        {"email": 5},
        {"jti": 7},
    ],
)
def test_malformed_claims(codec: TokenCodec, bad: dict[str, Any]) -> None:
    with pytest.raises(TokenInvalid):
        codec.verify(craft({"alg": "HS256"}, payload(**bad)))


def test_optional_claims_may_be_absent(codec: TokenCodec) -> None:
    token = craft({"alg": "HS256"}, payload(email=None, jti=None))
    claims = codec.verify(token)
    assert (claims.email, claims.username, claims.session) == (None, "a", None)
    # a token without a jti still has an id, its own: it can be revoked like any other
    assert len(claims.jti) == 32 and codec.verify(token).jti == claims.jti


def test_iat_has_milliseconds_and_sid_is_carried(codec: TokenCodec, clock: ManualClock) -> None:
    clock.advance(0.1234)
    issued = codec.issue(USER, "a@example.com", "alice", session="s1")
    claims = codec.verify(issued.token)
    assert (claims.iat, claims.issued_ms, claims.session) == (
        int(START),
        int(START) * 1000 + 123,
        "s1",
    )


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token(codec: TokenCodec, token: str | None) -> None:
    with pytest.raises(TokenMissing) as caught:
        codec.verify(token)
    assert isinstance(caught.value, AuthError)
    assert caught.value.code == "token_missing"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "..", "x" * 5000])
def test_garbage_is_invalid(codec: TokenCodec, token: str) -> None:
    with pytest.raises(TokenInvalid):
        codec.verify(token)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenCodec("x" * 31)
    TokenCodec("x" * 32)


def test_default_clock_is_wall_clock() -> None:
    codec = TokenCodec(SECRET)
    issued = codec.issue(USER, "a@example.com", "a")
    remaining = issued.expires_at - datetime.now(UTC)
    assert 3_590 < remaining.total_seconds() <= 3_600
    assert codec.verify(issued.token).sub == USER
