"""`momentum users list | show | disable | enable | set-password | delete`.

They act on the database directly, as the server's own HTTP API would; a running server
sees the change at the user's next connection or request (docs/tools.md).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from ..auth import PasswordHasher, check_password
from ..config import Settings
from ..storage import Store, User
from ._users_run import EXIT_NO_SUCH_USER, EXIT_OK, EXIT_USAGE, Refused, find_user, read_password

#: Users read per query while listing.
LIST_PAGE = 1000

_COLUMNS = ("id", "username", "email", "active", "admin", "created_at")


def user_row(user: User) -> tuple[str, ...]:
    return (
        str(user.id),
        user.username,
        user.email,
        "yes" if user.is_active else "no",
        "yes" if user.is_admin else "no",
        user.created_at.isoformat(timespec="seconds"),
    )


async def list_users(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    out = sys.stdout
    out.write("\t".join(_COLUMNS) + "\n")
    after = ""
    while page := await store.list_users(after=after, limit=LIST_PAGE):
        out.writelines("\t".join(user_row(user)) + "\n" for user in page)
        after = page[-1].username
    out.flush()
    return EXIT_OK


async def show_user(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    user = await find_user(store, args.user)
    for name, value in zip(_COLUMNS, user_row(user), strict=True):
        print(f"{name}: {value}")
    return EXIT_OK


async def disable_user(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    return await _set_active(store, args.user, active=False)


async def enable_user(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    return await _set_active(store, args.user, active=True)


async def _set_active(store: Store, who: str, *, active: bool) -> int:
    user = await find_user(store, who)
    if await store.set_user_flags(user.id, is_active=active) is None:
        raise Refused(EXIT_NO_SUCH_USER, f"no such user: {who}")
    print(f"{user.username} {'enabled' if active else 'disabled'}")
    return EXIT_OK


async def set_password(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    user = await find_user(store, args.user)
    password = read_password(args.password, user.username)
    check_password(password, username=user.username, email=user.email)
    password_hash = await PasswordHasher().hash(password)
    # Tokens issued before now are revoked in the store: a running server learns it at its
    # next start (POST /auth/password revokes them live).
    now = datetime.now(UTC)
    if not await store.set_password(user.id, password_hash, tokens_valid_after=now):
        raise Refused(EXIT_NO_SUCH_USER, f"no such user: {args.user}")
    print(f"{user.username}: password changed; earlier tokens revoked")
    return EXIT_OK


async def delete_user(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    user = await find_user(store, args.user)
    if not args.yes:
        raise Refused(EXIT_USAGE, f"deleting {user.username} cannot be undone: add --yes")
    if not await store.delete_user(user.id):
        raise Refused(EXIT_NO_SUCH_USER, f"no such user: {args.user}")
    print(f"{user.username} deleted")
    return EXIT_OK
