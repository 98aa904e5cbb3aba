-- Rooms, their members and their messages.
-- last_offset is the room's message counter: an append raises it (taking the room
-- row's lock) and inserts the message at the new value in one statement, so offsets
-- are gap-free per room and, per room, in commit order, whatever the number of
-- processes writing.
CREATE TABLE rooms (
    id                uuid        NOT NULL PRIMARY KEY,
    name              text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('public', 'private')),
    owner_id          uuid        NOT NULL,
    max_members       integer     CHECK (max_members IS NULL OR max_members >= 1),
    max_message_bytes integer     CHECK (max_message_bytes IS NULL OR max_message_bytes >= 1),
    last_offset       bigint      NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL
);

CREATE TABLE room_members (
    room_id   uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id   uuid        NOT NULL,
    role      text        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at timestamptz NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- The rooms a user belongs to.
CREATE INDEX room_members_user ON room_members (user_id);

CREATE TABLE room_messages (
    room_id      uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    room_offset  bigint      NOT NULL,
    id           uuid        NOT NULL CONSTRAINT room_messages_id_key UNIQUE,
    sender_id    uuid,
    message_type text        NOT NULL,
    payload      bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (room_id, room_offset)
);
