"""The one table of error codes and close codes (mirrored in docs/protocol.md)."""

from __future__ import annotations

import enum


class CloseCode(enum.IntEnum):
    """WebSocket close codes the server sends."""

    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down
    INVALID_PAYLOAD = 1007  # text frame that is not UTF-8
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # the hub restarted after a crash: reconnect
    TOKEN_EXPIRED = 4001  # expired or revoked: reconnect with a fresh token
    USER_DISABLED = 4003  # do not reconnect
    DISCONNECTED = 4004  # an operator closed the user's connections: may reconnect
    RATE_LIMITED = 4008  # sustained flooding
    SLOW_CONSUMER = 4009  # outbound queue overflowed
    STALE = 4010  # missed pongs or idle past the janitor's limit


class ErrorCode(enum.StrEnum):
    """`data.code` of an `error` envelope, and `error.code` of an HTTP error body."""

    INVALID_JSON = "invalid_json"
    INVALID_ENVELOPE = "invalid_envelope"
    UNKNOWN_TYPE = "unknown_type"
    FORBIDDEN_TYPE = "forbidden_type"
    INVALID_UUID = "invalid_uuid"
    SENDER_MISMATCH = "sender_mismatch"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    BINARY_UNSUPPORTED = "binary_unsupported"  # a binary frame on a JSON connection
    INVALID_MSGPACK = "invalid_msgpack"
    TEXT_UNSUPPORTED = "text_unsupported"  # a text frame on a MessagePack connection
    RATE_LIMITED = "rate_limited"
    UNKNOWN_RECIPIENT = "unknown_recipient"
    RECIPIENT_QUOTA = "recipient_quota"
    INTERNAL = "internal_error"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    STORAGE_BUSY = "storage_busy"
    DUPLICATE_ID = "duplicate_id"
    # rooms
    ROOM_FULL = "room_full"
    TOO_MANY_ROOMS = "too_many_rooms"
    # handshake and HTTP
    TOKEN_MISSING = "token_missing"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    USER_UNKNOWN = "user_unknown"
    USER_DISABLED = "user_disabled"
    FORBIDDEN_ORIGIN = "forbidden_origin"
    FORBIDDEN = "forbidden"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    SERVER_FULL = "server_full"
    SHUTTING_DOWN = "shutting_down"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    PAYLOAD_TOO_LARGE_HTTP = "request_too_large"
    INVALID_CREDENTIALS = "invalid_credentials"
    BUSY = "busy"  # too many password hashes waiting: retry shortly
