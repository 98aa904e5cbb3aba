"""Reference server: Python `websockets` (asyncio) speaking the benchmark subset of Momentum.

- ws://127.0.0.1:$PORT/ws?token=JWT (HS256, secret $BENCH_JWT_SECRET); no valid token: HTTP 401.
- A `text` or `notification` frame is relayed as Momentum's envelope (id, message_type, data,
  timestamp, from_user_id, to_user_id): to every open connection when `to_user_id` is null or
  absent (the sender's included, as Momentum does), else to every connection of that user.
- Anything else (acks, pings, bad JSON) is ignored: no storage, no acks, no presence.

It is the straightforward way to write this relay with `websockets`: one coroutine per
connection, the envelope encoded once, `broadcast()` to write it to many connections.
Run: PORT=9102 BENCH_JWT_SECRET=… python py_websockets.py
"""

import asyncio
import datetime
import json
import os
import signal
import uuid
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import jwt
from websockets.asyncio.server import ServerConnection, broadcast, serve

SECRET = os.environ["BENCH_JWT_SECRET"]
PORT = int(os.environ.get("PORT", "9102"))
RELAYED = {"text", "notification"}

connections: set[ServerConnection] = set()
by_user: dict[str, set[ServerConnection]] = {}


def _user_of(path: str) -> str | None:
    parts = urlsplit(path)
    if parts.path != "/ws":
        return None
    token = parse_qs(parts.query).get("token", [""])[0]
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["sub"]})
    except jwt.PyJWTError:
        return None
    return str(claims["sub"])


def authenticate(connection: ServerConnection, request):
    """Refuses the upgrade (401) without a valid token; remembers the user otherwise."""
    user = _user_of(request.path)
    if user is None:
        return connection.respond(HTTPStatus.UNAUTHORIZED, "a valid token is required\n")
    connection.bench_user = user  # type: ignore[attr-defined]
    return None


def _now() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def handler(ws: ServerConnection) -> None:
    user: str = ws.bench_user  # type: ignore[attr-defined]
    connections.add(ws)
    by_user.setdefault(user, set()).add(ws)
    try:
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(msg, dict) or msg.get("message_type") not in RELAYED:
                continue
            to = msg.get("to_user_id")
            data = msg.get("data")
            envelope = json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "message_type": msg["message_type"],
                    "data": data if isinstance(data, dict) else {},
                    "timestamp": _now(),
                    "from_user_id": user,
                    "to_user_id": to if to else None,
                },
                separators=(",", ":"),
            )
            broadcast(by_user.get(to, ()) if to else connections, envelope)
    finally:
        connections.discard(ws)
        mine = by_user.get(user)
        if mine is not None:
            mine.discard(ws)
            if not mine:
                del by_user[user]


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        handler,
        "127.0.0.1",
        PORT,
        process_request=authenticate,
        max_size=64 * 1024,
        compression=None,
        backlog=1024,
    ):
        await stop


if __name__ == "__main__":
    asyncio.run(main())
