-- Rooms, their members and their messages.
-- last_offset is the room's message counter: an append raises it and inserts the
-- message at the new value in one transaction, so offsets are gap-free per room.
-- Timestamps are fixed-width ISO 8601 UTC text, as in messages.
CREATE TABLE rooms (
    id                TEXT    NOT NULL PRIMARY KEY,
    name              TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('public', 'private')),
    owner_id          TEXT    NOT NULL,
    max_members       INTEGER CHECK (max_members IS NULL OR max_members >= 1),
    max_message_bytes INTEGER CHECK (max_message_bytes IS NULL OR max_message_bytes >= 1),
    last_offset       INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT    NOT NULL
);

CREATE TABLE room_members (
    room_id   TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

-- The rooms a user belongs to.
CREATE INDEX room_members_user ON room_members (user_id);

CREATE TABLE room_messages (
    room_id      TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    room_offset  INTEGER NOT NULL,
    id           TEXT    NOT NULL CONSTRAINT room_messages_id_key UNIQUE,
    sender_id    TEXT,
    message_type TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (room_id, room_offset)
) WITHOUT ROWID;
