"""The dashboard in a real browser: headless Chromium (Playwright) against a real server.

Rules: a real server on port 0 with a real SQLite file; Debian's Chromium driven by
Playwright in a thread of its own (tests/server/_browser.py); real trio-websocket clients
whose arrival, departure and received frames the test checks against what the page shows
and does. The real clock: every wait is Playwright's wait for the page to show something
(up to BROWSER_WAIT), never a fixed time; an outer `trio.fail_after` in every test.
Skipped only when Playwright or Chromium is missing, saying which.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio

from ._browser import Page, browser_missing, open_browser
from ._dashboard import PASSWORD, create_with_password
from ._live import Client, LiveServer
from .test_rooms_ws import new_room, subscribe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing())),
]

BROWSER_WAIT = 15_000  # ms: what Playwright waits for the page to show something


def expect_text(page: Page, selector: str, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.page.locator(selector)).to_have_text(text, timeout=BROWSER_WAIT)


def sign_in(url: str, username: str, password: str) -> Callable[[Page], None]:
    def step(page: Page) -> None:
        page.page.goto(url)
        page.page.fill("#username", username)
        page.page.fill("#password", password)
        page.page.click("#signin button[type=submit]")

    return step


def click_in_row(username: str, button: str) -> Callable[[Page], None]:
    """Find `username` among the online users and click its row's `button`."""

    def step(page: Page) -> None:
        page.page.fill("#search", username)
        row = page.page.locator("#online tbody tr", has_text=username)
        row.get_by_role("button", name=button).click(timeout=BROWSER_WAIT)

    return step


async def test_a_wrong_password_is_refused(server: LiveServer) -> None:
    with trio.fail_after(60):
        admin = await create_with_password(server, admin=True)
        async with open_browser() as browser:
            await browser.run(sign_in(f"{server.base_url}/dashboard", admin.username, "nope"))
            await browser.run(
                lambda p: expect_text(p, "#signin-error", "wrong email/username or password")
            )
            assert await browser.run(lambda p: p.page.is_hidden("#board"))


async def test_sign_in_watch_act_and_sign_out(server: LiveServer, tmp_path: Path) -> None:
    with trio.fail_after(120):
        admin = await create_with_password(server, admin=True)
        alice, bob = await server.create_user(), await server.create_user()
        async with open_browser() as browser:
            await browser.run(sign_in(f"{server.base_url}/dashboard", admin.username, PASSWORD))
            await browser.run(lambda p: expect_text(p, "#who", admin.username))
            await browser.run(lambda p: expect_text(p, "#connections", "0"))
            assert await browser.run(lambda p: p.page.is_hidden("#signin"))

            async with server.connect(alice) as a, server.connect(bob) as b:
                async with server.connect(bob):
                    await browser.run(lambda p: expect_text(p, "#connections", "3"))
                    await browser.run(lambda p: expect_text(p, "#users", "2"))
                    await browser.run(lambda p: expect_text(p, "#matched", "(2)"))

                    def search(page: Page) -> None:
                        page.page.fill("#search", bob.username)

                    await browser.run(search)
                    await browser.run(lambda p: expect_text(p, "#matched", "(1)"))
                    await browser.run(
                        lambda p: expect_text(p, "#online tbody td >> nth=0", bob.username)
                    )
                    await browser.run(
                        lambda p: p.page.screenshot(path=str(tmp_path / "dashboard.png"))
                    )
                await browser.run(lambda p: expect_text(p, "#connections", "2"))

                def broadcast(page: Page) -> None:
                    page.page.fill("#broadcast-text", "maintenance at 18:00")
                    page.page.click("#broadcast button")

                await browser.run(broadcast)
                for client in (a, b):
                    got = await client.receive_type("system_message")
                    assert got["data"]["content"] == "maintenance at 18:00"
                await browser.run(
                    lambda p: expect_text(p, "#result", "Broadcast to 2 connection(s)")
                )

                def send(page: Page) -> None:
                    page.page.fill("#send-user", bob.username)
                    page.page.fill("#send-text", "your build finished")
                    page.page.click("#send button")

                await browser.run(send)
                got = await b.receive_type("notification")
                assert got["data"]["content"] == "your build finished"

                await browser.run(click_in_row(bob.username, "Disconnect"))
                assert await b.wait_closed() == 4004
                await browser.run(
                    lambda p: expect_text(
                        p, "#result", f"{bob.username} disconnected: 1 connection(s) closed"
                    )
                )
                await browser.run(lambda p: expect_text(p, "#connections", "1"))

                await browser.run(click_in_row(alice.username, "Disable"))
                assert await a.wait_closed() == 4003
                await browser.run(lambda p: expect_text(p, "#connections", "0"))

            def phone(page: Page) -> int:
                page.page.set_viewport_size({"width": 390, "height": 844})
                page.page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
                width: int = page.page.evaluate("document.documentElement.scrollWidth")
                return width

            assert await browser.run(phone) <= 390  # nothing wider than a phone's screen

            def sign_out(page: Page) -> None:
                page.page.click("#signout")
                page.page.wait_for_selector("#signin", state="visible", timeout=BROWSER_WAIT)

            await browser.run(sign_out)
            assert await browser.run(lambda p: p.page.is_hidden("#board"))
            assert await browser.run(lambda p: list(p.errors)) == []
        assert (tmp_path / "dashboard.png").stat().st_size > 0


def artifacts_dir(tmp_path: Path) -> Path:
    """Where screenshots go: `$MOMENTUM_ARTIFACTS` if set (CI keeps it), else the test's
    own temporary folder (pytest keeps the last few runs')."""
    folder = Path(os.environ.get("MOMENTUM_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_a_screenshot_of_the_dashboard_under_load(server: LiveServer, tmp_path: Path) -> None:
    """Real clients in a room and a broadcast flow while the page is captured."""
    with trio.fail_after(120):
        admin = await create_with_password(server, admin=True)
        users = [await server.create_user() for _ in range(LOAD_USERS)]
        room_id = await new_room(server, users[0])
        async with AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(server.connect(u)) for u in users]
            for client in clients:
                await subscribe(client, room_id)
            async with trio.open_nursery() as nursery:
                for client in clients:
                    nursery.start_soon(drain, client)
                nursery.start_soon(keep_talking, clients, room_id)
                async with open_browser() as browser:
                    await browser.run(
                        sign_in(f"{server.base_url}/dashboard", admin.username, PASSWORD)
                    )
                    await browser.run(lambda p: expect_text(p, "#connections", str(LOAD_USERS)))
                    # the page's windows start when it opens: an error envelope for it to show
                    await clients[1].ws.send_message("not json")
                    await browser.run(lambda p: expect_nonzero_rate(p, "#rooms-messages"))
                    envelopes = "#envelopes td >> nth=0"
                    await browser.run(lambda p: expect_text(p, envelopes, "invalid_json"))
                    shot = artifacts_dir(tmp_path) / "dashboard-under-load.png"
                    await browser.run(lambda p: p.page.screenshot(path=str(shot), full_page=True))
                    assert await browser.run(lambda p: list(p.errors)) == []
                nursery.cancel_scope.cancel()
        assert shot.stat().st_size > 10_000


LOAD_USERS = 12


async def drain(client: Client) -> None:
    while True:
        await client.receive(timeout=60)


async def keep_talking(clients: list[Client], room_id: str) -> None:
    """About 40 messages a second within every rate limit: 10 room messages a second from
    the room's owner (clients[0]), 30 broadcasts a second from the others in turn."""
    owner, others = clients[0], clients[1:]
    for n in itertools.count():
        if n % 4 == 0:
            data = {"room_id": room_id, "data": {"n": n}}
            await owner.send(message_type="room_publish", data=data)
        else:
            client = others[n % len(others)]
            await client.send(message_type="text", data={"content": f"load {n}"})
        await trio.sleep(0.025)


def expect_nonzero_rate(page: Page, table: str) -> None:
    from playwright.sync_api import expect

    expect(page.page.locator(f"{table} td >> nth=1")).to_contain_text("/ s", timeout=30_000)
