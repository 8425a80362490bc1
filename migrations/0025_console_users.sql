-- 0025: people, not keys, in the console. A reviewer or an admin signs in with their
-- e-mail and a password (stored as an argon2id PHC string, never itself); their role
-- maps to the API's scopes. Consecutive failed sign-ins lock the account for a while.
-- Console sessions now belong to a person: sessions opened with API keys end here.
CREATE TABLE console_users (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email            text NOT NULL,
    name             text NOT NULL,
    role             text NOT NULL CHECK (role IN ('reviewer', 'admin')),
    password_hash    text NOT NULL,
    failed_sign_ins  integer NOT NULL DEFAULT 0,
    locked_until     timestamptz,
    last_sign_in_at  timestamptz,
    disabled_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX console_users_email ON console_users (lower(email));

DROP TABLE console_sessions;
CREATE TABLE console_sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
