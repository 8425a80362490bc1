-- 0024: badges (content of kind 'badge', reviewed like any other). A challenge
-- series' badge has the occasion 'challenge:<first instance id>'; a community's badge
-- for its other milestones has the milestone's occasion ('milestone', 'streak',
-- 'anniversary'). A member's badges are their milestones that carry an approved
-- badge, so a milestone remembers the community its member was in when it was
-- reached (existing ones: the member's community now).
ALTER TABLE member_milestones ADD COLUMN community_id text;
UPDATE member_milestones ms SET community_id = x.community_id
    FROM memberships x
    WHERE x.run_id = (SELECT run_id FROM current_run) AND x.member_id = ms.member_id AND x.rank = 1;
CREATE INDEX content_drafts_badges ON content_drafts (occasion, subject_id) WHERE kind = 'badge' AND status = 'approved';

-- A challenge as read also names the community its content is about: its badge is
-- drawn in that community's colours.
CREATE OR REPLACE VIEW challenge_summaries AS
SELECT c.*,
    (SELECT count(*) FROM challenge_participants p WHERE p.challenge_id = c.id AND p.left_at IS NULL)::int AS participants,
    (SELECT count(*) FROM challenge_participants p WHERE p.challenge_id = c.id AND p.left_at IS NULL
        AND p.completed_at IS NOT NULL)::int AS completed,
    (CASE WHEN d.status = 'approved' THEN d.body END)::jsonb AS body, d.locale,
    d.subject_id AS community_id
FROM challenges c JOIN content_drafts d ON d.id = c.content_id;
