-- What each recipient holds pending (unacknowledged and not yet purged): how many
-- messages, and the bytes of their envelopes, so that the recipient quota is checked with
-- one primary-key read per recipient instead of a scan of its pending messages.
CREATE TABLE pending_totals (
    recipient_id uuid   NOT NULL PRIMARY KEY,
    count        bigint NOT NULL,
    bytes        bigint NOT NULL
);

INSERT INTO pending_totals (recipient_id, count, bytes)
SELECT recipient_id, count(*), sum(octet_length(envelope))
FROM messages WHERE acked_at IS NULL GROUP BY recipient_id;

-- Kept by statement-level triggers: every statement that inserts, acks or deletes pending
-- messages changes the totals once per recipient, in its transaction. Message inserts and
-- purges hold the messages lock, so two of them never update several recipients' totals in
-- opposite orders.
CREATE OR REPLACE FUNCTION pending_totals_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pending_totals (recipient_id, count, bytes)
    SELECT recipient_id, count(*), sum(octet_length(envelope))
    FROM inserted WHERE acked_at IS NULL GROUP BY recipient_id
    ON CONFLICT (recipient_id) DO UPDATE SET count = pending_totals.count + excluded.count,
        bytes = pending_totals.bytes + excluded.bytes;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pending_totals_ack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pending_totals t SET count = t.count - gone.n, bytes = t.bytes - gone.b
    FROM (SELECT o.recipient_id, count(*) AS n, sum(octet_length(o.envelope)) AS b
          FROM before o JOIN after a ON a.id = o.id
          WHERE o.acked_at IS NULL AND a.acked_at IS NOT NULL GROUP BY o.recipient_id) gone
    WHERE t.recipient_id = gone.recipient_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pending_totals_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pending_totals t SET count = t.count - gone.n, bytes = t.bytes - gone.b
    FROM (SELECT recipient_id, count(*) AS n, sum(octet_length(envelope)) AS b
          FROM deleted WHERE acked_at IS NULL GROUP BY recipient_id) gone
    WHERE t.recipient_id = gone.recipient_id;
    RETURN NULL;
END $$;

CREATE TRIGGER pending_totals_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION pending_totals_insert();
CREATE TRIGGER pending_totals_ack AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION pending_totals_ack();
CREATE TRIGGER pending_totals_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION pending_totals_delete();
