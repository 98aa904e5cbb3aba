"""Every JavaScript example of docs/sdk.md, run as it is written (the package name and the
server's address swapped for this checkout's build and a live server), in the page's order:
alice sends bob a message, bob receives it, alice uses a room, then reads the history."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import trio

from tests.server._live import API_KEY

from ._node import NODE, SDK
from .test_sdk_js import create_room, started

DOC = SDK.parents[1] / "docs" / "sdk.md"
BLOCK = re.compile(r"```js\n(.*?)```", re.DOTALL)

pytestmark = [pytest.mark.usefixtures("sdk_js"), pytest.mark.slow]


def examples() -> list[str]:
    return BLOCK.findall(DOC.read_text())


async def test_the_docs_examples_run_against_a_live_server(tmp_path: Path) -> None:
    blocks = examples()
    assert len(blocks) == 4
    with trio.fail_after(120):
        async with started(tmp_path) as server:
            async with server.http() as http:
                ids = {}
                for name in ("alice", "bob"):
                    body = {
                        "email": f"{name}@x.test",
                        "username": name,
                        "password": f"{name}-secret",
                    }
                    reply = await http.post("/auth/register", json=body)
                    assert reply.status_code == 201, reply.text
                    ids[name] = reply.json()["user"]["id"]
            room = await create_room(server, ids["alice"])
            outputs = []
            for number, block in enumerate(blocks):
                script = tmp_path / f"example{number}.mjs"
                script.write_text(
                    block.replace('"@momentum/sdk"', f'"{(SDK / "dist" / "index.js").as_uri()}"')
                    .replace("http://localhost:8000", server.base_url)
                    .replace("ws://localhost:8000", f"ws://127.0.0.1:{server.port}")
                )
                done = await trio.run_process(
                    [*NODE, str(script)],
                    capture_stdout=True,
                    capture_stderr=True,
                    check=False,
                    env={**os.environ, "ROOM_ID": room},
                )
                output = done.stdout.decode() + done.stderr.decode()
                assert done.returncode == 0, f"example {number} failed:\n{block}\n{output}"
                outputs.append(output)
            async with server.http() as http:
                reply = await http.get(f"/rooms/{room}/messages", headers={"X-API-Key": API_KEY})
                assert [m["data"]["content"] for m in reply.json()["messages"]] == ["hello room"]
    assert "state: connected" in outputs[0] and "stored as" in outputs[0]
    assert "hi bob" in outputs[1]
    assert "joined at 0 published at 1" in outputs[2]
    assert "hi bob" in outputs[3]
