"""Password hashing with argon2id, off the Trio loop.

Hashing is deliberately CPU- and memory-heavy, so it runs in worker threads
behind a `CapacityLimiter` (default 2): a burst of logins queues up instead of
starving the loop or exhausting memory.
"""

from __future__ import annotations

import argon2
import trio

from ._errors import WeakPassword

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
DEFAULT_CONCURRENCY = 2


def check_password_policy(password: str) -> None:
    """Raise `WeakPassword` unless 8 ≤ len(password) ≤ 256 characters."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )


class PasswordHasher:
    """argon2id hashes; the cost parameters default to argon2-cffi's (RFC 9106 low-memory).

    Tests pass small `time_cost`/`memory_cost` to stay fast.
    """

    def __init__(
        self,
        *,
        time_cost: int = argon2.DEFAULT_TIME_COST,
        memory_cost: int = argon2.DEFAULT_MEMORY_COST,
        parallelism: int = argon2.DEFAULT_PARALLELISM,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        self._limiter = trio.CapacityLimiter(concurrency)
        # Verified against when the user is unknown, so that a login for a
        # missing account costs as much as one with a wrong password.
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """Hash a new password; raises `WeakPassword` if it breaks the policy."""
        check_password_policy(password)
        return await trio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches. Pass None for an unknown user: still costs one hash."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False

        def verify() -> bool:
            target = self._dummy() if password_hash is None else password_hash
            try:
                return self._hasher.verify(target, password)
            except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
                return False

        matched = await trio.to_thread.run_sync(verify, limiter=self._limiter)
        return matched and password_hash is not None

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash("momentum-dummy-password")
        return self._dummy_hash

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with other parameters than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except argon2.exceptions.InvalidHashError:
            return True
