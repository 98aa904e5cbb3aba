"""A real browser against a real server: the subprotocol Chromium accepts.

A browser cannot send an `Authorization` header on a WebSocket; it puts the token in a
subprotocol offer, `bearer.<token>`, and fails the handshake unless the server selects one
of its offers. The server selects `momentum` and never the token (docs/protocol.md), so a
page offers both.

Rules: a real server on port 0 with a real SQLite file, headless Chromium (skipped where it
is not installed) with a profile of its own, loading a page from a file (Origin `null`, so
the server allows every origin here); what the page saw comes back as a message it stores
(a direct message to its own user); the real clock, every test under `trio.fail_after`.
A page offering only `bearer.<token>` fails in Chromium (nothing of its own is selected):
docs/protocol.md says so; it is not tested here, since a failure leaves nothing to wait for.
"""

from __future__ import annotations

import json
import shutil
from functools import partial
from pathlib import Path

import orjson
import pytest
import trio

from momentum.storage import User

from ._live import LiveServer, custom_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PAGE = """<html><body><script>
const ws = new WebSocket('ws://127.0.0.1:PORT/ws', OFFERS);
ws.onopen = () => ws.send(JSON.stringify(
  {message_type: 'text', to_user_id: 'USER', data: {protocol: ws.protocol}}));
</script></body></html>"""

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


async def browser_says(server: LiveServer, user: User, offers: list[str], folder: Path) -> str:
    """Open a page in Chromium that connects as `user` offering `offers` and, once open,
    sends itself the subprotocol it sees; wait for that message in the store."""
    assert CHROMIUM is not None
    page = folder / "page.html"
    text = PAGE.replace("PORT", str(server.port)).replace("USER", str(user.id))
    page.write_text(text.replace("OFFERS", json.dumps(offers)))
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # tests may run as root
        "--disable-gpu",
        f"--user-data-dir={folder / 'profile'}",
        page.as_uri(),
    ]
    async with trio.open_nursery() as nursery:
        run = partial(trio.run_process, command, capture_stderr=True, check=False)
        browser = await nursery.start(run)
        try:
            while not (stored := await server.store.pending_messages(user.id)):  # noqa: ASYNC110 - store poll
                await trio.sleep(0.05)
        finally:
            browser.kill()
    data: dict[str, str] = orjson.loads(stored[0].envelope)["data"]
    return data["protocol"]


async def test_chromium_offering_momentum_and_the_token_connects(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with custom_server(tmp_path, allowed_origins=frozenset({"*"})) as server:
            user = await server.create_user()
            offers = ["momentum", f"bearer.{server.token(user)}"]
            assert await browser_says(server, user, offers, tmp_path) == "momentum"
