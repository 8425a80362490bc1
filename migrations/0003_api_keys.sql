-- 0003: API keys. Only a SHA-256 hash of each key is stored; the key itself is shown
-- once, when it is created. prefix is the key's public, non-secret head, used to find
-- the row before the hash is compared in constant time.
CREATE TABLE api_keys (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prefix     text NOT NULL UNIQUE,
    hash       bytea NOT NULL,
    name       text NOT NULL,
    scopes     text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Idempotency keys of batch POSTs: a retried request with the same key gets the first
-- answer back instead of being applied twice. Rows older than a day may be deleted.
CREATE TABLE idempotency_keys (
    api_key_id   bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key          text NOT NULL,
    route        text NOT NULL,
    request_hash bytea NOT NULL,
    status       integer NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);
