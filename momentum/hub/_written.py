"""The store writer's answer for one direct message the hub handed it."""

from __future__ import annotations

from ..broker import Broker, user_topic
from ..protocol import ErrorCode
from ..storage import WriteResult
from ._messages import Delivery, Publish

#: Why a direct message is not stored, by the writer's result.
_NOT_STORED = {
    WriteResult.STORED: None,
    WriteResult.FAILED: ErrorCode.STORAGE_UNAVAILABLE,
    WriteResult.REFUSED: ErrorCode.DUPLICATE_ID,
}


def written(
    msg: Publish, frame: bytes, delivered: int, broker: Broker, result: WriteResult
) -> None:
    """The writer's answer for one direct message (called in the writer's task: it touches
    no hub state). The frame goes to the other nodes only now, after the commit, so that a
    node whose recipient is just connecting either gets it live or finds it in the store
    (`ReplayGate`). Not stored (the store is down or busy), it still goes, live only; a
    refused duplicate does not."""
    if msg.to_user_id is not None and result is not WriteResult.REFUSED:
        topic = user_topic(msg.to_user_id)
        broker.publish(topic, frame, msg.message_type, msg.message_id)
    error = _NOT_STORED[result]
    msg.answer(Delivery(msg.message_id, msg.ref_id, delivered, error is None, error))
