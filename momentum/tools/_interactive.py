"""The interactive client: log in, connect through the SDK, run commands, say what happens.

Lines come from a `Terminal` (readline in a thread for people, a script in tests) and every
message the session prints goes back through it, so the controller never touches stdin.
Reconnecting (full-jitter backoff), the token refresh (logging in again with the password,
in-band on a live connection) and when to give up are the SDK's (`momentum.sdk`); this
module turns its events into lines and exit statuses.
"""

from __future__ import annotations

import signal
from dataclasses import replace
from typing import Protocol

import trio

from ..sdk import (
    Backoff,
    ClientClosed,
    ClientOptions,
    ConnectionState,
    HandshakeRefused,
    ServerUnreachable,
    StateChanged,
    open_client,
)
from ..sdk._socket import Connector, WireFormatName, open_websocket
from ._client import ClientSession
from ._commands import HELP, Help, Quit, parse_command
from ._http import ToolError
from ._identity import Credentials, Login, obtain_credentials
from ._outcome import describe_close

#: Handshake refusals a new login cures, and what the client says about them: an expired
#: token, or one the server no longer accepts (restarted with another secret — without
#: JWT_SECRET it draws a new one at each start).
RENEWABLE = {"token_expired": "token expired", "token_invalid": "token refused"}
USER_DISABLED, TOKEN_EXPIRED = 4003, 4001


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
        wire_format: WireFormatName = "json",
        connector: Connector = open_websocket,
    ) -> None:
        self.login = login
        self.terminal = terminal
        self.reconnect = reconnect
        self.wire_format = wire_format  # the frames' format (`--format`)
        self.connector = connector  # how a connection opens (tests wrap it)
        self.max_attempts = max_attempts  # 0: keep trying
        self.status = 0
        self.closed_with: int | None = None  # the last connection's close code
        self._credentials: Credentials | None = None
        self._connected_once = False
        self._attempt = 0

    async def run(self, *, handle_signals: bool = False) -> int:
        """Until `quit`, Ctrl-D, Ctrl-C (with `handle_signals`), or a reason to give up."""
        try:
            self._credentials = await obtain_credentials(self.login, self.terminal.show)
        except ToolError as exc:
            self.terminal.show(f"error: {exc}")
            return 1
        options = ClientOptions(
            refresh_token=self._log_in_again if self.login.can_log_in else None,
            reconnect=self.reconnect,
            backoff=Backoff(max_attempts=self.max_attempts),
            wire_format=self.wire_format,
            connector=self.connector,
        )
        url, token = self.login.server_url, self._credentials.token
        async with open_client(url, token, options) as client, trio.open_nursery() as nursery:
            session = ClientSession(client, self._credentials, url, self.terminal.show)
            if handle_signals:
                nursery.start_soon(self._quit_on_sigint, nursery.cancel_scope)
            nursery.start_soon(self._read_commands, session, nursery.cancel_scope)
            try:
                await self._follow(session)
            except Stop as stop:
                self.status = stop.status
            nursery.cancel_scope.cancel()
        return self.status

    async def _follow(self, session: ClientSession) -> None:
        """Print every event until the client stops (a `Stop` says how)."""
        async for event in session.client.events:
            if not isinstance(event, StateChanged):
                await session.show(event)
            elif event.state is ConnectionState.CONNECTED:
                await self._connected(session)
            elif event.state is ConnectionState.DISCONNECTED:
                self._disconnected(event)

    async def _connected(self, session: ClientSession) -> None:
        self._connected_once, self._attempt = True, 0
        self.terminal.show(
            f"connected to {self.login.server_url} as {session.me.username}"
            " — type help for commands"
        )
        await session.names.refresh()

    def _disconnected(self, event: StateChanged) -> None:
        """Say why the connection is gone; `Stop` when the client will not come back."""
        why = self._why(event)
        if event.final:
            self.terminal.show(f"{why}; not reconnecting")
            raise Stop(1)
        self._attempt += 1
        self.terminal.show(
            f"{why}; reconnecting in {event.retry_in:.1f} s (attempt {self._attempt})"
        )

    def _why(self, event: StateChanged) -> str:
        error = event.error
        if isinstance(error, HandshakeRefused):
            if error.code in RENEWABLE and not event.final and self.login.can_log_in:
                return RENEWABLE[error.code]
            self.terminal.show(f"error: {error}")
            return str(error)
        if isinstance(error, ServerUnreachable):
            if not self._connected_once:  # a wrong URL or a server not started, not an outage
                self.terminal.show(f"error: {error} (is the server running at that URL?)")
                raise Stop(1)
            return str(error)
        if event.close_code is None:
            return event.reason
        return self._closed(event)

    def _closed(self, event: StateChanged) -> str:
        code, said = event.close_code, f": {event.close_reason}" if event.close_reason else ""
        self.closed_with = code
        self.terminal.show(f"the server closed the connection: {describe_close(code)}{said}")
        if code == USER_DISABLED:
            self.terminal.show(f"close code {code} means do not reconnect; stopping")
            raise Stop(1)
        if code == TOKEN_EXPIRED and event.final:
            self.terminal.show("the token expired; log in with --password to get a new one")
            raise Stop(1)
        return "the connection was lost"

    async def _log_in_again(self) -> str:
        """A new token from the password (a `--token` given at start is the refused one)."""
        login = replace(self.login, token=None)
        credentials = await obtain_credentials(login, self.terminal.show)
        return credentials.token

    async def _read_commands(self, session: ClientSession, cancel_scope: trio.CancelScope) -> None:
        # Typed-ahead (or piped) commands wait for the first connection instead of failing.
        try:
            await session.client.wait_connected()
        except ClientClosed:
            return
        while True:
            line = await self.terminal.read_line()
            command = Quit() if line is None else parse_command(line)
            if command is None:
                continue
            if isinstance(command, Quit):
                self._quit(cancel_scope)
                return
            if session.client.state is ConnectionState.CONNECTED:
                await session.execute(command)
            elif isinstance(command, Help):
                self.terminal.show(HELP)
            else:
                self.terminal.show("? not connected right now; the command was not sent")

    def _quit(self, cancel_scope: trio.CancelScope) -> None:
        """Leaving closes the connection with 1000 (the SDK client's exit)."""
        self.closed_with = 1000
        self.terminal.show("closed (1000). bye")
        self.status = 0
        cancel_scope.cancel()

    async def _quit_on_sigint(self, cancel_scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                self._quit(cancel_scope)
                return
