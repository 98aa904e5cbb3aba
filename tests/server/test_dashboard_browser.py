"""The dashboard in a real browser: headless Chromium (Playwright) against a real server.

Rules: a real server on port 0 with a real SQLite file; Debian's Chromium driven by
Playwright in a thread of its own (tests/server/_browser.py); real trio-websocket clients
whose arrival, departure and received frames the test checks against what the page shows
and does. The real clock: every wait is Playwright's wait for the page to show something
(up to BROWSER_WAIT), never a fixed time; an outer `trio.fail_after` in every test.
Skipped only when Playwright or Chromium is missing, saying which.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from ._browser import Page, browser_missing, open_browser
from ._dashboard import PASSWORD, create_with_password
from ._live import LiveServer

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

                def disconnect_bob(page: Page) -> None:
                    page.page.fill("#search", bob.username)
                    row = page.page.locator("#online tbody tr", has_text=bob.username)
                    row.get_by_role("button", name="Disconnect").click(timeout=BROWSER_WAIT)

                await browser.run(disconnect_bob)
                assert await b.wait_closed() == 4004
                await browser.run(
                    lambda p: expect_text(
                        p, "#result", f"{bob.username} disconnected: 1 connection(s) closed"
                    )
                )
                await browser.run(lambda p: expect_text(p, "#connections", "1"))

                def disable_alice(page: Page) -> None:
                    page.page.fill("#search", alice.username)
                    row = page.page.locator("#online tbody tr", has_text=alice.username)
                    row.get_by_role("button", name="Disable").click(timeout=BROWSER_WAIT)

                await browser.run(disable_alice)
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
