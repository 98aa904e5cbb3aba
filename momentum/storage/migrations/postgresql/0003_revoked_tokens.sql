-- Token revocation. A revoked access token's jti is kept until the token expires; a
-- password change revokes every token of the user issued before tokens_valid_after.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;

CREATE TABLE revoked_tokens (
    jti        text        NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);

-- An ended session (logout, a refresh token replayed): every access token carrying its id
-- (`sid`) is revoked until the last of them has expired.
CREATE TABLE revoked_sessions (
    session_id text        NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);
