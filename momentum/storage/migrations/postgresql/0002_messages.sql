-- Direct messages kept until acknowledged (then for history until retention).
-- seq is the delivery order (an identity; writers serialize on an advisory
-- lock so seq order is also commit order). acked_at NULL means pending.
-- No foreign keys: users are never deleted, and the insert path should not
-- look each one up.
CREATE TABLE messages (
    id           uuid        NOT NULL PRIMARY KEY,
    seq          bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    sender_id    uuid,
    recipient_id uuid        NOT NULL,
    message_type text        NOT NULL,
    envelope     bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    acked_at     timestamptz
);

-- Delivery: a recipient's pending messages in seq order.
CREATE INDEX messages_pending ON messages (recipient_id, seq) WHERE acked_at IS NULL;

-- Purge: pending messages past their TTL, acked ones past retention.
CREATE INDEX messages_pending_expiry ON messages (expires_at) WHERE acked_at IS NULL;
CREATE INDEX messages_acked_created ON messages (created_at) WHERE acked_at IS NOT NULL;

-- History: one direction of a conversation, newest first.
CREATE INDEX messages_conversation ON messages (sender_id, recipient_id, created_at, seq);
