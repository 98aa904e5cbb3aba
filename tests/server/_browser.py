"""A headless Chromium driven by Playwright's sync API in a thread of its own.

Playwright's sync API must be called from the thread that started it, and the tests run on
Trio: `open_browser` starts one thread that owns the browser and runs the steps a test
hands it (`await browser.run(step)`), one at a time, while the test's Trio tasks (the
server, real WebSocket clients) go on in the main thread.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import trio

T = TypeVar("T")

CHROMIUM = os.environ.get("MOMENTUM_TEST_CHROMIUM", "/usr/bin/chromium")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@dataclass
class Page:
    """What a step gets: the page, and the console errors and page errors seen so far."""

    page: Any  # playwright.sync_api.Page
    errors: list[str] = field(default_factory=list)


class Browser:
    def __init__(self, width: int, height: int) -> None:
        self._size = {"width": width, "height": height}
        self._jobs: queue.Queue[Callable[[Page], None] | None] = queue.Queue()
        self.started = threading.Event()
        self.failure: BaseException | None = None

    async def run(self, step: Callable[[Page], T]) -> T:
        """Run `step` in the browser's thread and return what it returns (or raise)."""
        done = threading.Event()
        outcome: list[Any] = []

        def job(page: Page) -> None:
            try:
                outcome.append((True, step(page)))
            except BaseException as exc:
                outcome.append((False, exc))
            finally:
                done.set()

        self._jobs.put(job)
        await trio.to_thread.run_sync(done.wait, abandon_on_cancel=True)
        ok, value = outcome[0]
        if not ok:
            raise value
        result: T = value
        return result

    def serve(self) -> None:
        # Playwright makes an asyncio loop with the policy's new_event_loop(). Once the
        # PostgreSQL store has imported trio_asyncio, that policy makes trio-asyncio loops,
        # which Playwright cannot drive; trio_asyncio keeps a policy set outside Trio
        # per thread, so this thread gets asyncio's own without touching the others.
        import trio_asyncio  # noqa: F401 - so the next line is this thread's alone
        from playwright.sync_api import sync_playwright

        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
                )
                page = Page(chromium.new_page(viewport=self._size))  # type: ignore[arg-type]
                page.page.on(
                    "console",
                    lambda m: page.errors.append(m.text) if m.type == "error" else None,
                )
                page.page.on("pageerror", lambda e: page.errors.append(str(e)))
                page.page.on(
                    "response",
                    lambda r: (
                        page.errors.append(f"{r.url}: {r.status}") if r.status >= 400 else None
                    ),
                )
                page.page.on("dialog", lambda dialog: dialog.accept())  # every confirm: yes
                self.started.set()
                while (job := self._jobs.get()) is not None:
                    job(page)
                chromium.close()
        except BaseException as exc:
            self.failure = exc
            self.started.set()

    def stop(self) -> None:
        self._jobs.put(None)


@asynccontextmanager
async def open_browser(width: int = 1280, height: int = 800) -> AsyncIterator[Browser]:
    browser = Browser(width, height)
    thread = threading.Thread(target=browser.serve, name="chromium", daemon=True)
    thread.start()
    await trio.to_thread.run_sync(browser.started.wait, abandon_on_cancel=True)
    if browser.failure is not None:
        raise browser.failure
    try:
        yield browser
    finally:
        browser.stop()
        await trio.to_thread.run_sync(thread.join, abandon_on_cancel=True)
