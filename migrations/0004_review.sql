-- 0004: the review workflow. A draft's versions share a group (the first version's
-- id); an edit adds a version, a decision changes a version's status, and every step
-- is written to content_reviews: who, when, what changed. Recognition drafts are about
-- one member (member_id) and one occasion.
ALTER TABLE content_drafts DROP CONSTRAINT content_drafts_kind_subject_id_locale_version_key;
ALTER TABLE content_drafts
    ADD COLUMN group_id     bigint,
    ADD COLUMN member_id    text REFERENCES members (id) ON DELETE CASCADE,
    ADD COLUMN occasion     text NOT NULL DEFAULT '',
    ADD COLUMN findings     jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN fallback     boolean NOT NULL DEFAULT false,
    ADD COLUMN reason       text NOT NULL DEFAULT '',
    ADD COLUMN decided_by   text NOT NULL DEFAULT '',
    ADD COLUMN decided_at   timestamptz;
UPDATE content_drafts SET group_id = id;
ALTER TABLE content_drafts ALTER COLUMN group_id SET NOT NULL;
CREATE UNIQUE INDEX content_drafts_group_version ON content_drafts (group_id, version);
CREATE INDEX content_drafts_subject ON content_drafts (kind, subject_id, status);
CREATE INDEX content_drafts_member ON content_drafts (member_id) WHERE member_id IS NOT NULL;

CREATE TABLE content_reviews (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    draft_id bigint NOT NULL REFERENCES content_drafts (id) ON DELETE CASCADE,
    action   text NOT NULL CHECK (action IN ('created', 'edited', 'approved', 'rejected')),
    actor    text NOT NULL,
    reason   text NOT NULL DEFAULT '',
    changes  jsonb NOT NULL DEFAULT '{}',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_reviews_draft ON content_reviews (draft_id, at);
