"""How every `momentum users …` action runs: settings, the store, and its exit codes.

An action never ends in a traceback: refusals become one line on stderr and an exit code
(docs/tools.md, "momentum users").
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from ..auth import InvalidField, WeakPassword
from ..config import Settings, load_settings
from ..storage import StorageError, Store, User, UserExists, open_store

EXIT_OK = 0
#: The user named on the command line does not exist.
EXIT_NO_SUCH_USER = 1
#: Bad arguments or settings (argparse and `ConfigError` use it too).
EXIT_USAGE = 2
#: The input was refused: an invalid username or email, a weak password, a name taken.
EXIT_REFUSED = 3
#: The database could not be opened or failed.
EXIT_DATABASE = 4

Action = Callable[[Store, argparse.Namespace, Settings], Awaitable[int]]


class Refused(Exception):
    """Stop the action with `message` on stderr and exit `code`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def run_action(action: Action, args: argparse.Namespace) -> int:
    """Run `action` with the store of `--database-url`; refusals become exit codes."""
    settings = load_settings(database_url=args.database_url)
    try:
        return trio.run(partial(_with_store, action, args, settings))
    except Refused as exc:
        return _fail(exc.code, str(exc))
    except (InvalidField, WeakPassword) as exc:
        return _fail(EXIT_REFUSED, str(exc))
    except UserExists as exc:
        return _fail(EXIT_REFUSED, f"{exc.field} is already taken")
    except StorageError as exc:
        return _fail(EXIT_DATABASE, f"database unavailable: {exc}")


async def _with_store(action: Action, args: argparse.Namespace, settings: Settings) -> int:
    async with open_store(settings.database_url) as store:
        return await action(store, args, settings)


def _fail(code: int, message: str) -> int:
    print(f"momentum users: {message}", file=sys.stderr)
    return code


async def find_user(store: Store, who: str) -> User:
    """The user `who` names (an id, an email or a username), or `Refused`."""
    try:
        user = await store.get_user(uuid.UUID(who))
    except ValueError:
        user = await store.find_user(who)
    if user is None:
        raise Refused(EXIT_NO_SUCH_USER, f"no such user: {who}")
    return user


def read_password(given: str | None, whose: str) -> str:
    """`--password`, else MOMENTUM_PASSWORD, else asked for on a terminal."""
    password = given or os.environ.get("MOMENTUM_PASSWORD")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise Refused(EXIT_USAGE, "give --password (or MOMENTUM_PASSWORD)")
    return getpass.getpass(f"password for {whose}: ")
