"""A user removed from the store (or disabled in it directly, by SQL) keeps no connection.

The attack reproduced: an operator deletes a user's row, and the user's open connection
went on sending and receiving for as long as it stayed open. Now the janitor's sweep (every
`WS_CLEANUP_INTERVAL / 5` s, or at once on `POST /ws/cleanup`) closes it with 4003, like a
disabled user's; other users' connections stay.

Rules: a real server on port 0 with a real SQLite file, changed behind the server's back with
the stdlib `sqlite3`; real clients, the real clock; every test under `trio.fail_after`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import trio

from ._live import API_KEY, LiveServer


def change_behind_the_servers_back(tmp_path: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(tmp_path / "momentum.db", isolation_level=None, timeout=10)
    try:
        conn.execute(sql, args)
    finally:
        conn.close()


async def test_a_deleted_or_disabled_users_connection_is_closed_4003(
    server: LiveServer, tmp_path: Path
) -> None:
    with trio.fail_after(20):
        alice, bob, carol = [await server.create_user() for _ in range(3)]
        async with server.connect(alice) as a, server.connect(bob) as b, server.connect(carol) as c:
            await server.wait_connections(3)
            change_behind_the_servers_back(
                tmp_path, "DELETE FROM users WHERE id = ?", str(alice.id)
            )
            change_behind_the_servers_back(
                tmp_path, "UPDATE users SET is_active = 0 WHERE id = ?", str(bob.id)
            )
            async with server.http() as http:
                reply = await http.post("/ws/cleanup", headers={"X-API-Key": API_KEY})
            assert reply.status_code == 200, reply.text
            assert await a.wait_closed() == 4003
            assert await b.wait_closed() == 4003
            await c.roundtrip()
            await server.wait_connections(1)
