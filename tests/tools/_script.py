"""A scripted terminal for the interactive client: lines fed by the test, output recorded."""

from __future__ import annotations

import trio


class ScriptedTerminal:
    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[str](16)
        self.output: list[str] = []

    async def read_line(self) -> str | None:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            return None

    def show(self, text: str) -> None:
        self.output.append(text)

    async def type(self, line: str) -> None:
        await self._send.send(line)

    async def end_of_input(self) -> None:
        """Ctrl-D."""
        await self._send.aclose()

    def text(self) -> str:
        return "\n".join(self.output)

    async def wait_for(self, fragment: str, *, after: int = 0, timeout: float = 5.0) -> str:
        """The first output line (from index `after` on) containing `fragment`."""
        with trio.move_on_after(timeout):
            while True:
                for line in self.output[after:]:
                    if fragment in line:
                        return line
                await trio.sleep(0.01)
        raise AssertionError(f"no line with {fragment!r} within {timeout} s in:\n{self.text()}")
