"""The one error vocabulary of the actors runtime.

Every error a caller of this package can meet derives from `ActorError`, so code
that only wants to know "the actor did not do it" can catch one type.
"""

from __future__ import annotations

__all__ = [
    "ActorError",
    "ActorGone",
    "CallTimeout",
    "MailboxFull",
    "RestartIntensityExceeded",
]


class ActorError(Exception):
    """Base class of every error raised by the actors runtime."""


class ActorGone(ActorError):
    """The actor cannot take messages any more, or ended without replying.

    Raised by casts to a closed mailbox, by calls whose request was dropped
    (the mailbox closed, or the actor stopped while holding the request), and
    by supervisors asked to start a child while shutting down.
    """


class MailboxFull(ActorError):
    """`ActorRef.cast_nowait` found the mailbox full.

    The caller owns the overflow policy: drop the message, close the slow
    peer, or fall back to the blocking `ActorRef.cast`.
    """


class CallTimeout(ActorError):
    """`ActorRef.call` got no reply within its timeout."""


class RestartIntensityExceeded(ActorError):
    """A supervisor restarted children too often and gave up (escalation).

    Raised out of the supervisor's ``async with`` block after all of its
    children were stopped, so that the next supervisor up decides what to do.
    """
