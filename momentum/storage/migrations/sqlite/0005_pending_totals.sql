-- What each recipient holds pending (unacknowledged and not yet purged): how many
-- messages, and the bytes of their envelopes. Kept in the statements that insert, ack and
-- purge messages, in their transactions, so that the recipient quota is checked with one
-- primary-key read per recipient instead of a scan of its pending messages.
CREATE TABLE pending_totals (
    recipient_id TEXT    NOT NULL PRIMARY KEY,
    count        INTEGER NOT NULL,
    bytes        INTEGER NOT NULL
);

INSERT INTO pending_totals (recipient_id, count, bytes)
SELECT recipient_id, count(*), sum(length(envelope))
FROM messages WHERE acked_at IS NULL GROUP BY recipient_id;

-- SQLite keeps the totals with triggers: every statement that inserts, acks or deletes a
-- pending message changes them in the same statement, so an INSERT of a batch stays one
-- autocommitted statement (a BEGIN … COMMIT around it cost a fifth of the throughput).
CREATE TRIGGER pending_totals_insert AFTER INSERT ON messages WHEN NEW.acked_at IS NULL
BEGIN
    INSERT INTO pending_totals (recipient_id, count, bytes)
    VALUES (NEW.recipient_id, 1, length(NEW.envelope))
    ON CONFLICT (recipient_id) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER pending_totals_ack AFTER UPDATE OF acked_at ON messages
WHEN OLD.acked_at IS NULL AND NEW.acked_at IS NOT NULL
BEGIN
    UPDATE pending_totals SET count = count - 1, bytes = bytes - length(OLD.envelope)
    WHERE recipient_id = OLD.recipient_id;
END;

CREATE TRIGGER pending_totals_delete AFTER DELETE ON messages WHEN OLD.acked_at IS NULL
BEGIN
    UPDATE pending_totals SET count = count - 1, bytes = bytes - length(OLD.envelope)
    WHERE recipient_id = OLD.recipient_id;
END;
