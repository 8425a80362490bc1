-- 0027: what the nightly pipeline last did, for monitoring from any process: when it
-- last succeeded (and how long each stage took then), when it last failed and why.
CREATE TABLE pipeline_status (
    name            text PRIMARY KEY,
    last_success_at timestamptz,
    -- stages: seconds per stage of the last success ({"embed": 12.5, "cluster": 340.1}).
    stages          jsonb NOT NULL DEFAULT '{}',
    last_failure_at timestamptz,
    last_error      text NOT NULL DEFAULT ''
);
