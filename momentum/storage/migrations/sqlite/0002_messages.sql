-- Direct messages kept until acknowledged (then for history until retention).
-- seq is the delivery order; AUTOINCREMENT so a purged highest seq is never
-- reused (a reader paging with "seq > n" must never miss a newer message).
-- Timestamps are fixed-width ISO 8601 UTC text (microseconds, +00:00), so
-- text order is time order. acked_at NULL means pending. No foreign keys:
-- users are never deleted, and the insert path should not look each one up.
CREATE TABLE messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL CONSTRAINT messages_id_key UNIQUE,
    sender_id    TEXT,
    recipient_id TEXT    NOT NULL,
    message_type TEXT    NOT NULL,
    envelope     BLOB    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    acked_at     TEXT
);

-- Delivery: a recipient's pending messages in seq order.
CREATE INDEX messages_pending ON messages (recipient_id, seq) WHERE acked_at IS NULL;

-- Purge: pending messages past their TTL, acked ones past retention.
CREATE INDEX messages_pending_expiry ON messages (expires_at) WHERE acked_at IS NULL;
CREATE INDEX messages_acked_created ON messages (created_at) WHERE acked_at IS NOT NULL;

-- History: one direction of a conversation, newest first.
CREATE INDEX messages_conversation ON messages (sender_id, recipient_id, created_at, seq);
