"""Supervised actors on Trio: bounded mailboxes, call/cast, Erlang-style supervisors.

An actor here is one Trio task reading one bounded mailbox; a supervisor is a
nursery that restarts its children by strategy and stops them in order. The
package knows nothing of the application built on it. See ``docs/actors.md``.
"""

from ._actor import ActorMain, actor_spec
from ._errors import ActorError, ActorGone, CallTimeout, MailboxFull, RestartIntensityExceeded
from ._mailbox import ActorRef, Mailbox, MailboxStatistics, open_mailbox
from ._reply import Reply
from ._spec import (
    ChildSpec,
    ChildStatistics,
    Restart,
    StartFunction,
    Strategy,
    SupervisorStatistics,
)
from ._supervisor import Supervisor, open_supervisor

__all__ = [
    "ActorError",
    "ActorGone",
    "ActorMain",
    "ActorRef",
    "CallTimeout",
    "ChildSpec",
    "ChildStatistics",
    "Mailbox",
    "MailboxFull",
    "MailboxStatistics",
    "Reply",
    "Restart",
    "RestartIntensityExceeded",
    "StartFunction",
    "Strategy",
    "Supervisor",
    "SupervisorStatistics",
    "actor_spec",
    "open_mailbox",
    "open_supervisor",
]
