"""`momentum users …`: provision accounts and print tokens (benchmarks, first admin)."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import Any

import trio

from ..auth import PREFIX_PATTERN, PasswordHasher, TokenCodec, provisioned_users
from ..config import ConfigError, load_settings
from ..storage import NewUser, UserExists, open_store


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("users", help="manage users")
    sub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="create users (one, or --count N in bulk)")
    create.add_argument("--count", type=int, help="bulk: create N users with generated names")
    create.add_argument(
        "--prefix", default="user", help="bulk: username prefix (default: %(default)s)"
    )
    create.add_argument("--print-tokens", action="store_true", help="print one token per line")
    create.add_argument("--email")
    create.add_argument("--username")
    create.add_argument("--password", help="for a single user (8-256 characters)")
    create.add_argument("--admin", action="store_true", help="make the user(s) admins")
    create.add_argument("--database-url", help="default: env DATABASE_URL or sqlite:///momentum.db")
    create.set_defaults(run=run_create)


def run_create(args: argparse.Namespace) -> int:
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
        news = provisioned_users(args.count, args.prefix, admin=args.admin)
    else:
        if not (args.email and args.username and args.password):
            raise ConfigError("give --count N, or --email, --username and --password")
        news = None
    try:
        return trio.run(
            partial(
                _create, settings.database_url, settings.jwt_secret, settings.jwt_ttl, news, args
            )
        )
    except UserExists as exc:
        raise ConfigError(f"{exc.field} is already taken") from None


async def _create(
    database_url: str,
    secret: str,
    ttl: float,
    news: list[NewUser] | None,
    args: argparse.Namespace,
) -> int:
    async with open_store(database_url) as store:
        if news is None:
            password_hash = await PasswordHasher().hash(args.password)
            news = [NewUser(args.email.lower(), args.username, password_hash, is_admin=args.admin)]
        users = await store.create_users(news)
    if args.print_tokens:
        codec = TokenCodec(secret, ttl=ttl)
        out = sys.stdout
        for user in users:
            out.write(codec.issue(user.id, user.email, user.username).token + "\n")
        out.flush()
    else:
        for user in users:
            print(f"{user.id} {user.username}", file=sys.stderr)
    return 0
