-- Refresh tokens, stored as the SHA-256 of the token (hex). Each is spent once: spending it
-- issues the next of its session. Spending a spent one again (a stolen token replayed)
-- revokes every token of the session.
CREATE TABLE refresh_tokens (
    token_hash text        NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL,
    session_id text        NOT NULL,
    expires_at timestamptz NOT NULL,
    spent      boolean     NOT NULL DEFAULT false,
    revoked    boolean     NOT NULL DEFAULT false
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
