-- 0028: an API key may expire, and says when it was last used (to the minute:
-- servers note uses in memory and write them once a minute, never on the request).
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz, ADD COLUMN last_used_at timestamptz;
