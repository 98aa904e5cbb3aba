"""Who may see who is online, and who may read `/metrics`.

The attacks reproduced: any user listing every online user (`GET /ws/online`), and anyone
reading `/metrics`. Both stay open by default (documented), and close with
`ONLINE_VISIBILITY=admin|api_key` and `METRICS_TOKEN` (or `METRICS_REQUIRE_KEY`).

Rules: a real server on port 0 with a real SQLite file, a real HTTP client, the real clock;
every test under `trio.fail_after`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from ._live import API_KEY, custom_server

KEY = {"X-API-Key": API_KEY}
METRICS_TOKEN = "scrape-0123456789abcdef"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("visibility", "user", "admin", "backend"),
    [("all", 200, 200, 200), ("admin", 403, 200, 200), ("api_key", 403, 403, 200)],
)
async def test_online_visibility_decides_who_lists_the_online_users(
    tmp_path: Path, visibility: str, user: int, admin: int, backend: int
) -> None:
    with trio.fail_after(20):
        async with custom_server(tmp_path, online_visibility=visibility) as server:
            alice, boss = await server.create_user(), await server.create_user(admin=True)
            async with server.connect(alice), server.http() as http:
                await server.wait_connections(1)
                got = {
                    "user": await http.get("/ws/online", headers=bearer(server.token(alice))),
                    "admin": await http.get("/ws/online", headers=bearer(server.token(boss))),
                    "backend": await http.get("/ws/online", headers=KEY),
                }
        assert {who: r.status_code for who, r in got.items()} == {
            "user": user,
            "admin": admin,
            "backend": backend,
        }
        for reply in got.values():
            if reply.status_code == 200:
                assert [u["id"] for u in reply.json()["users"]] == [str(alice.id)]
            else:
                assert reply.json()["error"]["code"] == "forbidden"


async def test_metrics_are_open_by_default_and_closed_by_a_metrics_token(
    tmp_path: Path,
) -> None:
    with trio.fail_after(20):
        async with custom_server(tmp_path) as server, server.http() as http:
            assert (await http.get("/metrics")).status_code == 200
        async with custom_server(tmp_path, metrics_token=METRICS_TOKEN) as server:
            user = await server.create_user()
            async with server.http() as http:
                anonymous = await http.get("/metrics")
                wrong = await http.get("/metrics", headers=bearer("not-the-token-at-all"))
                as_user = await http.get("/metrics", headers=bearer(server.token(user)))
                scraper = await http.get("/metrics", headers=bearer(METRICS_TOKEN))
                backend = await http.get("/metrics", headers=KEY)
        assert anonymous.status_code == 401
        assert wrong.status_code == 401
        assert as_user.status_code == 403
        assert scraper.status_code == 200 and "momentum_" in scraper.text
        assert backend.status_code == 200
