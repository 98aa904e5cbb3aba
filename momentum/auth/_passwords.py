"""Password hashing with argon2id, off the Trio loop.

Hashing is deliberately CPU- and memory-heavy, so it runs in worker threads, a few at a
time, through a `HashQueue`: logins ahead of sign-ups, each line bounded.

Every verification costs one hash, whatever the account: an unknown login and an account
without a usable password (provisioned, token-only) are checked against a dummy hash, so
the time a failed login takes does not tell which kind of account a name belongs to.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import argon2
import trio

from ._errors import WeakPassword
from ._queue import HashQueue, Priority

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


def check_password_policy(password: str) -> None:
    """Raise `WeakPassword` unless 8 ≤ len(password) ≤ 256 characters."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )


@dataclass
class _Dummy:
    """The hash a failed lookup is verified against (made once, on first use)."""

    value: str | None = field(default=None)


class PasswordHasher:
    """argon2id hashes; the cost parameters default to argon2-cffi's (RFC 9106 low-memory).

    Tests pass small `time_cost`/`memory_cost` to stay fast. `queue` orders and bounds the
    hashes (`with_queue` gives a hasher with the same costs and another queue).
    """

    def __init__(
        self,
        *,
        time_cost: int = argon2.DEFAULT_TIME_COST,
        memory_cost: int = argon2.DEFAULT_MEMORY_COST,
        parallelism: int = argon2.DEFAULT_PARALLELISM,
        queue: HashQueue | None = None,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        self.queue = queue or HashQueue()
        self._dummy = _Dummy()

    def with_queue(self, queue: HashQueue) -> PasswordHasher:
        twin = PasswordHasher.__new__(PasswordHasher)
        twin._hasher, twin._dummy, twin.queue = self._hasher, self._dummy, queue
        return twin

    async def hash(self, password: str, *, priority: Priority = Priority.SIGNUP) -> str:
        """Hash a new password; raises `WeakPassword` if it breaks the policy, and
        `HashQueueFull` when too many hashes of this priority wait already."""
        check_password_policy(password)
        async with self.queue.slot(priority):
            return await trio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches. Pass None for an unknown user: it costs one hash all
        the same, as does a hash no password matches (`HashQueueFull` as for `hash`)."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        usable = password_hash is not None and password_hash.startswith("$argon2")

        def verify() -> bool:
            target = password_hash if usable and password_hash else self._dummy_hash()
            try:
                return self._hasher.verify(target, password)
            except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
                return False

        async with self.queue.slot(Priority.LOGIN):
            matched = await trio.to_thread.run_sync(verify)
        return matched and usable

    def _dummy_hash(self) -> str:
        if self._dummy.value is None:
            self._dummy.value = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy.value

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with other parameters than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except argon2.exceptions.InvalidHashError:
            return True
