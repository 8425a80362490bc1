-- 0008: console sessions, kept on the server so that signing out (or revoking the key)
-- ends them everywhere. The cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE console_sessions (
    token_hash bytea PRIMARY KEY,
    api_key_id bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_key ON console_sessions (api_key_id);
