"""What the hub does once the store writer has answered for a direct message."""

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
    WriteResult.UNKNOWN_RECIPIENT: ErrorCode.UNKNOWN_RECIPIENT,
    WriteResult.RECIPIENT_QUOTA: ErrorCode.RECIPIENT_QUOTA,
}
#: Results after which a direct message goes to no other node (there is nobody to get it,
#: or it is not this message). Over the quota it still goes live, like any unstored one.
_NOT_FORWARDED = frozenset({WriteResult.REFUSED, WriteResult.UNKNOWN_RECIPIENT})


def answer_written(
    msg: Publish, frame: bytes, delivered: int, broker: Broker, result: WriteResult
) -> None:
    """The writer's answer for one direct message (called in the writer's task: it touches
    no hub state). The frame goes to the other nodes only now, after the commit, so that a
    node whose recipient is just connecting either gets it live or finds it in the store
    (`ReplayGate`). Not stored (the store is down or busy), it still goes, live only; a
    refused duplicate, or a message to nobody, does not."""
    if msg.to_user_id is not None and result not in _NOT_FORWARDED:
        topic = user_topic(msg.to_user_id)
        broker.publish(topic, frame, msg.message_type, msg.message_id)
    error = _NOT_STORED[result]
    msg.answer(Delivery(msg.message_id, msg.ref_id, delivered, error is None, error))
