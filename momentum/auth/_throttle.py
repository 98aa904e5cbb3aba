"""How often one account and one client address may try a password, and sign up.

Guessing is throttled twice: per account (a slow guess from many addresses) and per client
address (one address trying many accounts). Both are token buckets (`KeyedBuckets`): a
burst, then a slow refill, so a user locked out by someone else's guesses waits one refill
interval once the guessing stops, not an hour. A successful login does not count.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._buckets import BucketPolicy, KeyedBuckets


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The buckets of the three throttles, and how many keys each table remembers at most
    (beyond, the least recently used key is forgotten, which only ever forgives it)."""

    login_account: BucketPolicy
    login_address: BucketPolicy
    register_address: BucketPolicy
    max_keys: int


class AuthThrottles:
    """The login and sign-up throttles of one server process (Trio clock)."""

    __slots__ = ("_account", "_address", "_register")

    def __init__(self, policy: ThrottlePolicy) -> None:
        self._account: KeyedBuckets[str] = KeyedBuckets(
            policy.login_account, max_keys=policy.max_keys
        )
        self._address: KeyedBuckets[str] = KeyedBuckets(
            policy.login_address, max_keys=policy.max_keys
        )
        self._register: KeyedBuckets[str] = KeyedBuckets(
            policy.register_address, max_keys=policy.max_keys
        )

    def take_login(self, address: str, account: str, now: float) -> float:
        """One password attempt for `account` from `address`: 0.0 if allowed, else the
        seconds to wait (and nothing is taken)."""
        wait = self._address.take(address, now)
        if wait:
            return wait
        wait = self._account.take(_account_key(account), now)
        if wait:
            self._address.give_back(address, now)
        return wait

    def give_back_login(self, address: str, account: str, now: float) -> None:
        """The attempt was right, or never checked: it does not count against either."""
        self._address.give_back(address, now)
        self._account.give_back(_account_key(account), now)

    def take_register(self, address: str, now: float) -> float:
        """One sign-up from `address`: 0.0 if allowed, else the seconds to wait."""
        return self._register.take(address, now)


def _account_key(login: str) -> str:
    """A user id, or for an unknown account the name tried (case-insensitive, as logins are)."""
    return login.strip().casefold()
