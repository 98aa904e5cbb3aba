-- Room messages by age: the janitor purges the oldest past the history retention
-- in small batches, each found through this index instead of a scan of every room.
CREATE INDEX room_messages_created ON room_messages (created_at);
