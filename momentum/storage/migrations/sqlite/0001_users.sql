-- Users. Ids are canonical UUID strings, timestamps ISO 8601 UTC text.
-- email is stored lowercased; username_key is username.casefold(), computed in
-- Python so both backends agree on what "the same username" means.
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL CONSTRAINT users_email_key UNIQUE,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL CONSTRAINT users_username_key UNIQUE,
    password_hash TEXT    NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    TEXT    NOT NULL
);
