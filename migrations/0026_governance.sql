-- 0026: governance. Approved content can be superseded by an edited version, reviewed
-- again: when that version is approved, the one before it stops being served
-- ('superseded'). A challenge reads its content group's approved version, so a
-- superseded challenge text is replaced, not lost. Brand settings (banned phrases,
-- voice guide, tone, per-channel length limits) are versioned rows; the newest is in
-- force, and the environment is only the default until the first is saved.
ALTER TABLE content_drafts DROP CONSTRAINT content_drafts_status_check;
ALTER TABLE content_drafts ADD CONSTRAINT content_drafts_status_check
    CHECK (status IN ('draft', 'approved', 'rejected', 'withdrawn', 'superseded'));
ALTER TABLE content_reviews DROP CONSTRAINT content_reviews_action_check;
ALTER TABLE content_reviews ADD CONSTRAINT content_reviews_action_check
    CHECK (action IN ('created', 'edited', 'approved', 'rejected', 'withdrawn', 'superseded'));

CREATE OR REPLACE VIEW challenge_summaries AS
SELECT c.*,
    (SELECT count(*) FROM challenge_participants p WHERE p.challenge_id = c.id AND p.left_at IS NULL)::int AS participants,
    (SELECT count(*) FROM challenge_participants p WHERE p.challenge_id = c.id AND p.left_at IS NULL
        AND p.completed_at IS NOT NULL)::int AS completed,
    a.body, d.locale,
    d.subject_id AS community_id
FROM challenges c JOIN content_drafts d ON d.id = c.content_id
LEFT JOIN LATERAL (SELECT v.body FROM content_drafts v WHERE v.group_id = d.group_id AND v.status = 'approved'
    ORDER BY v.version DESC LIMIT 1) a ON true;

CREATE TABLE brand_settings (
    version        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    banned_phrases text[] NOT NULL DEFAULT '{}',
    voice          text NOT NULL DEFAULT '',
    tone           text NOT NULL DEFAULT '',
    -- channel_limits: the most characters a message may have per channel ({"push":120}).
    channel_limits jsonb NOT NULL DEFAULT '{}',
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
