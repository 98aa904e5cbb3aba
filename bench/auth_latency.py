"""Login latency under a sign-up flood, and what a failed login's time tells.

Runs a real server (production argon2 costs, SQLite in a temporary folder) on 127.0.0.1 and
prints, in milliseconds:

- a login alone (median of 5), and the slowest login while 60 sign-ups run at once;
- the median failed login (of 20) for a wrong password, an unknown name and a token-only
  (provisioned) account: they should be alike.

Usage: .venv/bin/python bench/auth_latency.py [--no-signup-throttle]
(`--no-signup-throttle` lifts the per-address sign-up limit, so that all 60 sign-ups reach
the hashing queue.)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid

import httpx
import trio

from momentum.auth import UNUSABLE_PASSWORD
from momentum.config import Settings
from momentum.server import Running, serve
from momentum.storage import NewUser

PASSWORD = "correct horse battery"
SIGNUPS = 60


async def timed(http: httpx.AsyncClient, path: str, body: dict[str, str]) -> tuple[float, int]:
    """Milliseconds and the status; status 0: the connection closed with no answer."""
    start = time.perf_counter()
    try:
        status = (await http.post(path, json=body)).status_code
    except httpx.TransportError:
        status = 0
    return (time.perf_counter() - start) * 1000, status


async def main(lift_throttle: bool) -> None:
    folder = tempfile.mkdtemp()
    settings = Settings(
        bind="127.0.0.1:0",
        jwt_secret="bench-secret-0123456789abcdef-0123456789",
        database_url=f"sqlite:///{folder}/bench.db",
        login_ip_burst=1000,
        login_account_burst=1000,
        register_ip_burst=1000 if lift_throttle else Settings.register_ip_burst,
        log_summary_interval=0,
    )
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        running: Running = await nursery.start(
            lambda task_status: serve(settings, shutdown_trigger=stop.wait, task_status=task_status)
        )
        base = f"http://127.0.0.1:{running.port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await report(http, running)
        stop.set()


async def report(http: httpx.AsyncClient, running: Running) -> None:
    login = {"login": "bench", "password": PASSWORD}
    await http.post(
        "/auth/register",
        json={"email": "bench@example.test", "username": "bench", "password": PASSWORD},
    )
    alone = statistics.median([(await timed(http, "/auth/login", login))[0] for _ in range(5)])
    print(f"login alone: {alone:.0f} ms (median of 5)")

    statuses: list[int] = []
    logins: list[float] = []

    async def sign_up() -> None:
        name = f"s{uuid.uuid4().hex[:10]}"
        body = {"email": f"{name}@example.test", "username": name, "password": PASSWORD}
        statuses.append((await timed(http, "/auth/register", body))[1])

    async def log_in_meanwhile() -> None:
        await trio.sleep(0.2)  # the sign-ups are queued by now
        for _ in range(3):
            logins.append((await timed(http, "/auth/login", login))[0])

    async with trio.open_nursery() as nursery:
        for _ in range(SIGNUPS):
            nursery.start_soon(sign_up)
        nursery.start_soon(log_in_meanwhile)
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    print(f"login during {SIGNUPS} concurrent sign-ups: {', '.join(f'{x:.0f}' for x in logins)} ms")
    print(f"  sign-up answers: {counts}")

    await running.services.store.create_user(
        NewUser("tokenonly@example.test", "tokenonly", UNUSABLE_PASSWORD)
    )
    kinds = {
        "wrong password": {"login": "bench", "password": "wrong password"},
        "unknown name": {"login": "nobody-here", "password": "wrong password"},
        "token-only account": {"login": "tokenonly", "password": "wrong password"},
    }
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(20):  # interleaved, so that the machine's load weighs on each alike
        for name, body in kinds.items():
            times[name].append((await timed(http, "/auth/login", body))[0])
    for name, measured in times.items():
        print(f"failed login, {name}: {statistics.median(measured):.1f} ms (median of 20)")


if __name__ == "__main__":
    trio.run(main, "--no-signup-throttle" in sys.argv[1:])
