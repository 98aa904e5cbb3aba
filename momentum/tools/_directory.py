"""Who is who for the interactive client: user names by id, learned as it goes.

Envelopes carry user ids only. Names come from presence frames (`user_joined` lists
names), from the online list (`GET /ws/online`: fetched when the session starts, when a
message arrives from an id not known yet, and when `to <name>` names someone not known),
and from the client's own login. A sender who is neither online nor seen stays an id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

#: Fetches the online list's `users` ({id, username, …}); None when the request failed.
FetchOnline = Callable[[], Awaitable[list[dict[str, Any]] | None]]

#: How much of an unknown user's id is shown instead of a name.
ID_PREFIX = 8


class Directory:
    def __init__(self, my_id: str, my_name: str, fetch_online: FetchOnline) -> None:
        self.my_id = my_id
        self._fetch_online = fetch_online
        self._names: dict[str, str] = {my_id: my_name}
        self._not_online: set[str] = set()  # looked for in the online list, not there

    def learn(self, user_id: str, username: str) -> None:
        self._names[user_id] = username
        self._not_online.discard(user_id)

    def name(self, user_id: str | None) -> str:
        """How to show a user: "server" (no user), "you", a name, or an id prefix."""
        if user_id is None:
            return "server"
        if user_id == self.my_id:
            return "you"
        return self._names.get(user_id, user_id[:ID_PREFIX])

    def knows(self, user_id: str | None) -> bool:
        """True when there is nothing to look up for `user_id` (known, or not online)."""
        return user_id is None or user_id in self._names or user_id in self._not_online

    async def refresh(self) -> bool:
        """Learn everyone in the online list; False when it could not be fetched."""
        users = await self._fetch_online()
        if users is None:
            return False
        for user in users:
            self.learn(str(user["id"]), str(user["username"]))
        return True

    async def look_up(self, user_id: str) -> None:
        """Fetch the online list once for a sender not known yet (not again if it is not
        there, or the list could not be fetched: one failure message, not one a line)."""
        if self.knows(user_id):
            return
        await self.refresh()
        if user_id not in self._names:
            self._not_online.add(user_id)

    async def find(self, name: str) -> str | None:
        """The id of the user called `name` (any case), known or in the online list."""
        found = self._find_known(name)
        if found is None and await self.refresh():
            found = self._find_known(name)
        return found

    def _find_known(self, name: str) -> str | None:
        wanted = name.lower()
        for user_id, username in self._names.items():
            if username.lower() == wanted:
                return user_id
        return None
