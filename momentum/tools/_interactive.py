"""The interactive client: log in, connect, run commands, reconnect with backoff.

Lines come from a `Terminal` (readline in a thread for people, a script in tests) and every
message the session prints goes back through it, so the controller never touches stdin.
"""

from __future__ import annotations

import signal
from dataclasses import replace
from typing import Protocol

import trio
import trio_websocket

from ._client import ClientSession
from ._commands import HELP, Help, Quit, parse_command
from ._http import ServerUnreachable, ToolError, ws_url
from ._identity import Credentials, Login, obtain_credentials
from ._outcome import describe_close
from ._ws import DO_NOT_RECONNECT, HandshakeRefused, backoff_delay, close_code, open_ws

#: Close codes after which a fresh token (a new login) is the way back in (4001: the token expired).
TOKEN_EXPIRED = 4001
#: Handshake refusals a new login cures, and what the client says about them: an expired
#: token, or one the server no longer accepts (restarted with another secret — without
#: JWT_SECRET it draws a new one at each start).
RENEWABLE = {"token_expired": "token expired", "token_invalid": "token refused"}


class Terminal(Protocol):
    async def read_line(self) -> str | None:
        """The next line typed, or None at end of input (Ctrl-D)."""
        ...

    def show(self, text: str) -> None:
        """Print `text` without disturbing the line being typed."""
        ...


class Stop(Exception):
    """End the client with this exit status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class InteractiveClient:
    def __init__(
        self,
        login: Login,
        terminal: Terminal,
        *,
        reconnect: bool = True,
        max_attempts: int = 0,
        wire_format: str = "json",
    ) -> None:
        self.login = login
        self.terminal = terminal
        self.reconnect = reconnect
        self.wire_format = wire_format  # "json" or "msgpack" (`_ws.WIRE_FORMATS`)
        self.max_attempts = max_attempts  # 0: keep trying
        self.session: ClientSession | None = None
        self.status = 0
        self.closed_with: int | None = None  # the last connection's close code
        self._first_attempt_done = trio.Event()

    async def run(self, *, handle_signals: bool = False) -> int:
        """Until `quit`, Ctrl-D, Ctrl-C (with `handle_signals`), or a reason to give up."""
        say = self.terminal.show
        try:
            credentials = await obtain_credentials(self.login, say)
        except ToolError as exc:
            say(f"error: {exc}")
            return 1
        async with trio.open_nursery() as nursery:
            if handle_signals:
                nursery.start_soon(self._quit_on_sigint, nursery.cancel_scope)
            nursery.start_soon(self._read_commands, nursery.cancel_scope)
            try:
                await self._stay_connected(credentials)
            except Stop as stop:
                self.status = stop.status
            nursery.cancel_scope.cancel()
        return self.status

    async def _stay_connected(self, credentials: Credentials) -> None:
        attempt = 0
        renewed = False  # a token from a new login, not yet accepted by the server
        while True:
            why = await self._connect_once(credentials)
            self._first_attempt_done.set()
            if why is None:  # connected, then lost: start the schedule again
                attempt = 0
                renewed = False
                why = "the connection was lost"
            elif why in RENEWABLE.values() and renewed:
                self.terminal.show(f"{why} right after logging in; not reconnecting")
                raise Stop(1)
            if not self.reconnect or (self.max_attempts and attempt >= self.max_attempts):
                self.terminal.show(f"{why}; not reconnecting")
                raise Stop(1)
            delay = backoff_delay(attempt)
            attempt += 1
            self.terminal.show(f"{why}; reconnecting in {delay:.1f} s (attempt {attempt})")
            await trio.sleep(delay)
            if why in RENEWABLE.values():
                credentials = await self._log_in_again()
                renewed = True

    async def _connect_once(self, credentials: Credentials) -> str | None:
        """Connect and run a session; the reason it failed to open, or None if it ran."""
        try:
            url = ws_url(self.login.server_url, credentials.token)
            async with open_ws(url, wire_format=self.wire_format) as ws:
                session = ClientSession(ws, credentials, self.login.server_url, self.terminal.show)
                self.session = session
                self._first_attempt_done.set()
                self.terminal.show(
                    f"connected to {self.login.server_url} as {credentials.username}"
                    " — type help for commands"
                )
                await session.receive_forever()
                self.session = None
                self._after_close(session)
        except HandshakeRefused as exc:
            if exc.code in RENEWABLE and self.login.can_log_in:
                return RENEWABLE[exc.code]
            self.terminal.show(f"error: {exc}")
            if not exc.retryable:
                raise Stop(1) from None
            return str(exc)
        except ServerUnreachable as exc:
            if not self._first_attempt_done.is_set():
                # Never connected: a wrong URL or a server not started, not an outage.
                self.terminal.show(f"error: {exc} (is the server running at that URL?)")
                raise Stop(1) from None
            return str(exc)
        return None

    def _after_close(self, session: ClientSession) -> None:
        """Quit cleanly, or stop for good on codes that say so; else return to reconnect."""
        self.closed_with = close_code(session.ws)
        if session.closing:
            self.terminal.show("closed (1000). bye")
            raise Stop(0)
        code = close_code(session.ws)
        reason = session.ws.closed.reason if session.ws.closed else None
        said = f": {reason}" if reason else ""
        self.terminal.show(f"the server closed the connection: {describe_close(code)}{said}")
        if code in DO_NOT_RECONNECT:
            self.terminal.show(f"close code {code} means do not reconnect; stopping")
            raise Stop(1)
        if code == TOKEN_EXPIRED and not self.login.can_log_in:
            self.terminal.show("the token expired; log in with --password to get a new one")
            raise Stop(1)

    async def _log_in_again(self) -> Credentials:
        """A new token from the password (a `--token` given at start is the refused one)."""
        try:
            return await obtain_credentials(replace(self.login, token=None), self.terminal.show)
        except ToolError as exc:
            self.terminal.show(f"error: {exc}")
            raise Stop(1) from None

    async def _read_commands(self, cancel_scope: trio.CancelScope) -> None:
        # Typed-ahead (or piped) commands wait for the first connection instead of failing.
        await self._first_attempt_done.wait()
        while True:
            line = await self.terminal.read_line()
            command = Quit() if line is None else parse_command(line)
            if command is None:
                continue
            session = self.session
            if session is not None and not session.ws.closed:
                try:
                    if not await session.execute(command):
                        return  # the session sees its own close and ends the run
                except trio_websocket.ConnectionClosed:
                    self.terminal.show("? the connection closed; the command was not sent")
            elif isinstance(command, Quit):
                self.terminal.show("bye")
                cancel_scope.cancel()
                return
            elif isinstance(command, Help):
                self.terminal.show(HELP)
            else:
                self.terminal.show("? not connected right now; the command was not sent")

    async def _quit_on_sigint(self, cancel_scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                session = self.session
                if session is not None and not session.ws.closed:
                    await session.execute(Quit())
                    return
                cancel_scope.cancel()
                return
