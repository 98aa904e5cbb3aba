"""PresenceBatch: joins and leaves coalesced into at most two frames per interval.

Rules of this module:
- The batch is plain data with no clock: a "presence interval" is the span between two
  ``flush()`` calls, so these are sync tests.
- Frames are decoded with orjson and compared as whole ``data`` objects where small.
- Users are numbered UUIDs (``user(n)``) named ``user-n`` so that order is visible.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from momentum.hub._presence import MAX_LISTED, PresenceBatch


def user(n: int) -> uuid.UUID:
    return uuid.UUID(int=n + 1)


def decode(frames: list[bytes]) -> list[tuple[str, dict[str, Any]]]:
    envelopes = [orjson.loads(frame) for frame in frames]
    return [(envelope["message_type"], envelope["data"]) for envelope in envelopes]


def test_empty_batch_flushes_nothing() -> None:
    batch = PresenceBatch()
    assert not batch
    assert batch.flush() == []


def test_one_join() -> None:
    batch = PresenceBatch()
    batch.joined(user(1), "user-1")
    assert batch
    assert decode(batch.flush()) == [
        (
            "user_joined",
            {
                "users": [{"user_id": str(user(1)), "username": "user-1"}],
                "count": 1,
                "more": 0,
                "user_id": str(user(1)),
                "username": "user-1",
            },
        )
    ]


def test_one_leave() -> None:
    batch = PresenceBatch()
    batch.left(user(1), "user-1")
    ((kind, data),) = decode(batch.flush())
    assert kind == "user_left"
    assert (data["user_id"], data["username"], data["count"]) == (str(user(1)), "user-1", 1)


def test_frame_is_a_full_server_envelope() -> None:
    batch = PresenceBatch()
    batch.joined(user(1), "user-1")
    (frame,) = batch.flush()
    envelope = orjson.loads(frame)
    assert set(envelope) == {
        "id",
        "message_type",
        "data",
        "timestamp",
        "from_user_id",
        "to_user_id",
    }
    assert envelope["from_user_id"] is None
    assert envelope["to_user_id"] is None
    assert uuid.UUID(envelope["id"])


def test_join_then_leave_in_one_interval_is_never_announced() -> None:
    batch = PresenceBatch()
    batch.joined(user(1), "user-1")
    batch.left(user(1), "user-1")
    assert not batch
    assert batch.flush() == []


def test_leave_then_rejoin_in_one_interval_is_not_announced() -> None:
    batch = PresenceBatch()
    batch.left(user(1), "user-1")
    batch.joined(user(1), "user-1")
    assert not batch
    assert batch.flush() == []


def test_leave_rejoin_leave_is_one_leave() -> None:
    batch = PresenceBatch()
    batch.left(user(1), "user-1")
    batch.joined(user(1), "user-1")
    batch.left(user(1), "user-1")
    assert [kind for kind, _ in decode(batch.flush())] == ["user_left"]


def test_join_leave_join_is_one_join() -> None:
    batch = PresenceBatch()
    batch.joined(user(1), "user-1")
    batch.left(user(1), "user-1")
    batch.joined(user(1), "user-1")
    assert [kind for kind, _ in decode(batch.flush())] == ["user_joined"]


def test_joins_and_leaves_of_different_users_give_two_frames() -> None:
    batch = PresenceBatch()
    batch.joined(user(1), "user-1")
    batch.left(user(2), "user-2")
    batch.joined(user(3), "user-3")
    (joined_kind, joined), (left_kind, left) = decode(batch.flush())
    assert (joined_kind, left_kind) == ("user_joined", "user_left")
    assert [u["username"] for u in joined["users"]] == ["user-1", "user-3"]
    assert (joined["count"], joined["more"]) == (2, 0)
    assert "user_id" not in joined  # only a single user is also named at the top level
    assert [u["username"] for u in left["users"]] == ["user-2"]
    assert left["user_id"] == str(user(2))


def test_storm_of_250_joins_is_one_frame_listing_100() -> None:
    batch = PresenceBatch()
    for n in range(250):
        batch.joined(user(n), f"user-{n}")
    ((kind, data),) = decode(batch.flush())
    assert kind == "user_joined"
    assert MAX_LISTED == 100
    assert len(data["users"]) == 100
    assert data["users"][0] == {"user_id": str(user(0)), "username": "user-0"}
    assert data["users"][-1]["username"] == "user-99"
    assert (data["count"], data["more"]) == (250, 150)
    assert "user_id" not in data


def test_exactly_max_listed_has_no_more() -> None:
    batch = PresenceBatch()
    for n in range(MAX_LISTED):
        batch.left(user(n), f"user-{n}")
    ((_, data),) = decode(batch.flush())
    assert (len(data["users"]), data["count"], data["more"]) == (100, 100, 0)


def test_flush_resets_the_batch() -> None:
    batch = PresenceBatch()
    batch.joined(user(1), "user-1")
    batch.left(user(2), "user-2")
    assert len(batch.flush()) == 2
    assert not batch
    assert batch.flush() == []
    # A leave after the flush is announced in the next interval, not cancelled by the old join.
    batch.left(user(1), "user-1")
    assert [kind for kind, _ in decode(batch.flush())] == ["user_left"]


def test_repeated_join_is_listed_once() -> None:
    batch = PresenceBatch()
    batch.joined(user(1), "user-1")
    batch.joined(user(1), "user-1")
    ((_, data),) = decode(batch.flush())
    assert data["count"] == 1
