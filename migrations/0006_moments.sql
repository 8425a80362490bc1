-- 0006: recognition moments. A rule fires at most once per member and key (the key
-- of a streak includes its first day, so a later streak can be celebrated again);
-- the primary key is what makes a replayed batch fire nothing.
CREATE TABLE member_milestones (
    member_id    text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    key          text NOT NULL,
    occasion     text NOT NULL CHECK (occasion IN ('milestone', 'streak', 'anniversary')),
    detail       text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    fired_at     timestamptz NOT NULL DEFAULT now(),
    draft_id     bigint REFERENCES content_drafts (id) ON DELETE SET NULL,
    delivered_at timestamptz,
    channel      text NOT NULL DEFAULT '',
    PRIMARY KEY (member_id, key)
);
