-- 0014: a recognition (a member's milestone) has an id of its own, so that a journey
-- platform can acknowledge its delivery (POST /v1/recognitions/{id}/deliveries): the
-- moment read no longer marks it delivered. announced_at is when its
-- recognition.due event was written (package webhooks); the index finds those with
-- an approved message still to announce.
ALTER TABLE member_milestones ADD COLUMN id bigint NOT NULL GENERATED ALWAYS AS IDENTITY;
ALTER TABLE member_milestones ADD CONSTRAINT member_milestones_id_key UNIQUE (id);
ALTER TABLE member_milestones ADD COLUMN announced_at timestamptz;
CREATE INDEX member_milestones_unannounced ON member_milestones (fired_at)
    WHERE delivered_at IS NULL AND announced_at IS NULL AND draft_id IS NOT NULL;
