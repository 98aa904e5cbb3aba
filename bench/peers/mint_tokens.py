"""Prints N HS256 JWTs, one a line, each for a distinct user, for the reference servers.

Usage: python3 mint_tokens.py N SECRET

Standard library only. Claims: `sub` (a UUID, distinct per line), `iat`, `exp` (24 h),
`username`: what the peers read (`sub`) plus what a JWT is expected to carry. Momentum's
tokens come from `momentum users create --print-tokens` instead, because Momentum also
checks that the user exists.
"""

import base64
import hashlib
import hmac
import json
import sys
import time
import uuid


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def mint(sub: str, secret: str, now: int, username: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"sub": sub, "username": username, "iat": now, "exp": now + 86400}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    n, secret = int(sys.argv[1]), sys.argv[2]
    now = int(time.time())
    out = sys.stdout
    for i in range(n):
        out.write(mint(str(uuid.uuid4()), secret, now, f"bench{i}") + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
