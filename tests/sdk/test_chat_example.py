"""The browser chat (examples/chat/) in headless Chromium against a real server: two pages
chat directly and in a room, one reloads while the other writes to it, nothing is lost.

The page is served by a static server of the test's (another origin than Momentum's, which
lists it in WS_ALLOWED_ORIGINS and HTTP_ALLOWED_ORIGINS); it imports sdk/js/dist.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from momentum.config import Settings
from tests.server._browser import Page, browser_missing, open_browser
from tests.server._live import open_live_server, settings_for

from ._node import SDK
from ._static import static_server
from .test_sdk_js import create_room, register

ROOT = SDK.parents[1]
WAIT = 15_000  # ms, for each thing a page waits for

pytestmark = [
    pytest.mark.usefixtures("sdk_js"),
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing())),
]


def sign_in(page: Any, url: str, name: str) -> None:
    page.goto(url)
    page.fill("#signin [name=login]", name)
    page.fill("#signin [name=password]", "correct horse battery")
    page.click("#signin button")
    page.wait_for_selector("#state[data-state=connected]", timeout=WAIT)


def join(page: Any, room: str) -> None:
    page.fill("#join [name=room]", room)
    page.click("#join button")
    page.wait_for_selector(f"#rooms [data-room-id='{room}']", timeout=WAIT)


def say(page: Any, to: str, text: str) -> None:
    page.wait_for_selector(f"#to option[value='{to}']", state="attached", timeout=WAIT)
    page.select_option("#to", to)
    page.fill("#compose [name=text]", text)
    page.click("#compose button")


def shown(page: Any) -> list[str]:
    texts: list[str] = page.eval_on_selector_all("#log .text", "els => els.map(e => e.textContent)")
    return texts


def wait_shown(page: Any, text: str) -> None:
    page.wait_for_function(
        "t => [...document.querySelectorAll('#log .text')].some(e => e.textContent === t)",
        arg=text,
        timeout=WAIT,
    )


def state_of(page: Any, text: str) -> str:
    row = page.locator("#log li", has_text=text)
    state: str = row.locator(".state").get_attribute("data-state")
    return state


def chat_settings(tmp_path: Path, origin: str, **overrides: Any) -> Settings:
    """A server that takes the example's page from `origin` (WebSocket and HTTP API)."""
    return settings_for(
        f"sqlite:///{tmp_path}/momentum.db",
        allowed_origins=frozenset({origin}),
        http_allowed_origins=frozenset({origin}),
        **overrides,
    )


def open_second_page(errors: list[str]) -> Callable[[Page], Any]:
    """A step that opens another page, with storage of its own, collecting its errors."""

    def step(first: Page) -> Any:
        page = first.page.context.browser.new_page()  # a context of its own
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    return step


async def test_two_pages_chat_and_a_reload_loses_nothing(tmp_path: Path) -> None:
    with trio.fail_after(120), static_server(ROOT) as origin:
        settings = chat_settings(tmp_path, origin)
        async with open_live_server(settings) as server, open_browser() as browser:
            ids = await register(server, "alice", "bob")
            room = await create_room(server, ids["alice"])
            url = f"{origin}/examples/chat/?server={server.base_url}"
            errors: list[str] = []
            bob = await browser.run(open_second_page(errors))

            def alice_and_bob_join(alice: Page) -> None:
                sign_in(alice.page, url, "alice")
                sign_in(bob, url, "bob")
                join(alice.page, room)
                join(bob, room)

            await browser.run(alice_and_bob_join)

            def chat(alice: Page) -> None:
                say(alice.page, f"user:{ids['bob']}", "hi bob")
                wait_shown(bob, "hi bob")
                alice.page.wait_for_selector("[data-state=delivered]", timeout=WAIT)
                say(bob, f"room:{room}", "hello room")
                wait_shown(alice.page, "hello room")
                assert state_of(bob, "hello room") == "stored"

            await browser.run(chat)

            def reload_meanwhile(alice: Page) -> None:
                bob.reload(wait_until="commit")
                say(alice.page, f"user:{ids['bob']}", "while you reloaded")
                say(alice.page, f"room:{room}", "room while reloading")
                bob.wait_for_selector("#state[data-state=connected]", timeout=WAIT)
                for text in ("while you reloaded", "room while reloading"):
                    wait_shown(bob, text)

            await browser.run(reload_meanwhile)
            await trio.sleep(1)  # anything repeated would show by now

            seen = await browser.run(lambda _: shown(bob))
            assert sorted(seen) == sorted(
                ["hi bob", "hello room", "while you reloaded", "room while reloading"]
            )
            alice_errors = await browser.run(lambda alice: list(alice.errors))
            assert alice_errors == [] and errors == []


async def test_the_chat_survives_a_server_restart(tmp_path: Path) -> None:
    """The server stops under two open pages; alice writes while it is down; it comes back
    on the same port and database: both pages reconnect, and every message arrives once."""
    with trio.fail_after(120), static_server(ROOT) as origin:
        errors: list[str] = []
        async with open_browser() as browser:
            async with open_live_server(chat_settings(tmp_path, origin)) as server:
                port = server.port
                ids = await register(server, "alice", "bob")
                room = await create_room(server, ids["alice"])
                url = f"{origin}/examples/chat/?server={server.base_url}"
                bob = await browser.run(open_second_page(errors))

                def chat_before(alice: Page) -> None:
                    sign_in(alice.page, url, "alice")
                    sign_in(bob, url, "bob")
                    join(bob, room)
                    join(alice.page, room)
                    say(alice.page, f"user:{ids['bob']}", "before the restart")
                    wait_shown(bob, "before the restart")

                await browser.run(chat_before)

            def write_while_down(alice: Page) -> None:
                alice.page.wait_for_selector("#state[data-state=connecting]", timeout=WAIT)
                say(alice.page, f"user:{ids['bob']}", "while the server was down")
                assert state_of(alice.page, "while the server was down") == "sent"

            await browser.run(write_while_down)
            again = chat_settings(tmp_path, origin, bind=f"127.0.0.1:{port}")
            async with open_live_server(again):

                def after(alice: Page) -> None:
                    wait_shown(bob, "while the server was down")
                    say(alice.page, f"room:{room}", "after the restart")
                    wait_shown(bob, "after the restart")
                    row = "#log li:has-text('while the server was down') .state"
                    alice.page.wait_for_selector(f"{row}:not([data-state=sent])", timeout=WAIT)

                await browser.run(after)
                await trio.sleep(1)  # anything repeated would show by now
                seen = await browser.run(lambda _: shown(bob))
            assert sorted(seen) == sorted(
                ["before the restart", "while the server was down", "after the restart"]
            )
            alice_errors = await browser.run(lambda alice: list(alice.errors))
            assert errors == []
            # the page's failed connection attempts while the server was down are all it logs
            assert all("WebSocket" in e or "ERR_CONNECTION_REFUSED" in e for e in alice_errors)
