-- Users. email is stored lowercased; username_key is username.casefold(),
-- computed in Python so both backends agree on what "the same username" means.
CREATE TABLE users (
    id            uuid        NOT NULL PRIMARY KEY,
    email         text        NOT NULL CONSTRAINT users_email_key UNIQUE,
    username      text        NOT NULL,
    username_key  text        NOT NULL CONSTRAINT users_username_key UNIQUE,
    password_hash text        NOT NULL,
    is_active     boolean     NOT NULL DEFAULT true,
    is_admin      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
