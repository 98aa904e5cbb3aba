"""The client's terminal: line editing and history (GNU readline), and messages printed
above the line being typed.

`input()` runs in a worker thread so Trio keeps receiving meanwhile. When a message arrives
while the user is typing, `show` clears the prompt line (`\\r` + erase-line), prints the
message, and prints the prompt and the typed text again below it; `readline` keeps the text
being edited in its buffer, readable from this thread under the GIL. The one thing this
does not restore is a cursor moved left of the end of the line: it is put back at the end.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import trio

PROMPT = "momentum> "
HISTORY_FILE = os.path.join(os.path.expanduser("~"), ".momentum_history")
HISTORY_LENGTH = 1000


def _load_readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input(), no editing
        return None
    return readline


class ReadlineTerminal:
    """Lines from stdin and messages to stdout; a prompt and editing only on a terminal."""

    def __init__(self) -> None:
        self.interactive = sys.stdin.isatty() and sys.stdout.isatty()
        self._readline = _load_readline() if self.interactive else None
        # True from the moment readline has drawn the prompt until the line is entered
        # (set by readline's pre-input hook, in the input thread).
        self.prompt_shown = False
        if self._readline is not None:
            self._readline.set_pre_input_hook(self._on_prompt)

    def _on_prompt(self) -> None:
        self.prompt_shown = True

    async def read_line(self) -> str | None:
        return await trio.to_thread.run_sync(self._input, abandon_on_cancel=True)

    def _input(self) -> str | None:
        try:
            return input(PROMPT if self.interactive else "")
        except EOFError:
            if self.interactive:
                print()
            return None
        finally:
            self.prompt_shown = False

    def show(self, text: str) -> None:
        out = sys.stdout
        if self.prompt_shown and self._readline is not None:
            typed = self._readline.get_line_buffer()
            out.write(f"\r\x1b[K{text}\n{PROMPT}{typed}")
        else:
            out.write(text + "\n")
        out.flush()


@contextlib.contextmanager
def open_terminal() -> Iterator[ReadlineTerminal]:
    """A terminal whose settings and history are restored and saved on the way out.

    readline changes the terminal's mode while it reads; leaving while a read is in progress
    (Ctrl-C, the server closing) would otherwise leave the shell without echo.
    """
    terminal = ReadlineTerminal()
    saved = _save_tty()
    readline = terminal._readline
    if readline is not None:
        readline.set_history_length(HISTORY_LENGTH)
        with contextlib.suppress(OSError):
            readline.read_history_file(HISTORY_FILE)
    try:
        yield terminal
    finally:
        if terminal.prompt_shown:  # leave a clean line, not a prompt nobody will answer
            sys.stdout.write("\r\x1b[K")
            sys.stdout.flush()
        _restore_tty(saved)
        if readline is not None:
            readline.set_pre_input_hook(None)
            with contextlib.suppress(OSError):
                readline.write_history_file(HISTORY_FILE)


def _save_tty() -> list[Any] | None:
    if not sys.stdin.isatty():
        return None
    try:
        import termios

        return termios.tcgetattr(sys.stdin.fileno())
    except ImportError:
        return None
    except termios.error:
        return None


def _restore_tty(saved: list[Any] | None) -> None:
    if saved is None:
        return
    import termios

    with contextlib.suppress(termios.error):
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
