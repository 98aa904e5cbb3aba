"""`momentum users …`: create, list, show, disable, enable, set-password, delete."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import Any

from ..auth import PREFIX_PATTERN, PasswordHasher, TokenCodec, new_account, provisioned_users
from ..config import ConfigError, Settings, load_settings
from ..storage import NewUser, Store
from . import _users_manage as manage
from ._users_run import EXIT_OK, Action, read_password, run_action

_DATABASE_HELP = "default: env DATABASE_URL or sqlite:///momentum.db"


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "users",
        help="manage users",
        description="Manage accounts in the database. Exit codes: 0 done, 1 no such user, "
        "2 usage or configuration error, 3 refused (invalid name or email, weak password, "
        "taken), 4 database unavailable.",
    )
    sub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    _add_create(sub)
    _add(sub, "list", "list every user (tab-separated, with a header)", manage.list_users)
    for name, help_text, action in (
        ("show", "show one user", manage.show_user),
        ("disable", "refuse the user's logins, tokens and connections", manage.disable_user),
        ("enable", "undo disable", manage.enable_user),
    ):
        _add(sub, name, help_text, action).add_argument("user", help="username, email or id")
    change = _add(sub, "set-password", "set a user's password", manage.set_password)
    change.add_argument("user", help="username, email or id")
    change.add_argument("--password", help="default: env MOMENTUM_PASSWORD, else asked for")
    delete = _add(sub, "delete", "delete a user for good", manage.delete_user)
    delete.add_argument("user", help="username, email or id")
    delete.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")


def _add(sub: Any, name: str, help_text: str, action: Action) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--database-url", help=_DATABASE_HELP)
    p.set_defaults(run=partial(run_action, action))
    return p


def _add_create(sub: Any) -> None:
    create = _add(sub, "create", "create users (one, or --count N in bulk)", _create)
    create.add_argument("--count", type=int, help="bulk: create N users with generated names")
    create.add_argument(
        "--prefix", default="user", help="bulk: username prefix (default: %(default)s)"
    )
    create.add_argument("--print-tokens", action="store_true", help="print one token per line")
    create.add_argument("--email")
    create.add_argument("--username", help="3-32 ASCII letters, digits, '_', '.' or '-'")
    create.add_argument(
        "--password", help="8-256 characters, not a common one (env MOMENTUM_PASSWORD)"
    )
    create.add_argument("--admin", action="store_true", help="make the user(s) admins")
    create.set_defaults(run=_run_create)


def _run_create(args: argparse.Namespace) -> int:
    settings = load_settings(database_url=args.database_url)
    if args.print_tokens and settings.jwt_secret_generated:
        raise ConfigError(
            "--print-tokens needs JWT_SECRET (the server's secret) in the environment"
        )
    if args.count is not None:
        if args.count < 1:
            raise ConfigError("--count must be at least 1")
        if not PREFIX_PATTERN.match(args.prefix):
            raise ConfigError("--prefix: 1-12 letters, digits, '_', '.' or '-'")
    elif not (args.email and args.username):
        raise ConfigError("give --count N, or --email, --username and --password")
    return run_action(_create, args)


async def _create(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    if args.count is not None:
        news = provisioned_users(args.count, args.prefix, admin=args.admin)
    else:
        email, username, password = new_account(
            args.email, args.username, read_password(args.password, args.username)
        )
        password_hash = await PasswordHasher().hash(password)
        news = [NewUser(email, username, password_hash, is_admin=args.admin)]
    users = await store.create_users(news)
    if args.print_tokens:
        codec = TokenCodec(settings.jwt_secret, ttl=settings.jwt_ttl)
        sys.stdout.writelines(
            codec.issue(user.id, user.email, user.username).token + "\n" for user in users
        )
        sys.stdout.flush()
    else:
        for user in users:
            print(f"{user.id} {user.username}", file=sys.stderr)
    return EXIT_OK
