-- Refresh tokens, stored as the SHA-256 of the token (hex). Each is spent once: spending it
-- issues the next of its session. Spending a spent one again (a stolen token replayed)
-- revokes every token of the session.
CREATE TABLE refresh_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    spent      INTEGER NOT NULL DEFAULT 0 CHECK (spent IN (0, 1)),
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
