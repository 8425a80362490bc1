-- 0023: challenges members live (package challenges). A challenge is launched from
-- approved challenge content for a community, a tribe or a lifecycle stage, with a
-- window of local dates, a goal over events and a kind (individual or group). A
-- recurring challenge is a series of instances, each its own row.
CREATE TABLE challenges (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_id   bigint NOT NULL REFERENCES content_drafts (id),
    -- series_id is the first instance's id (NULL on the first instance itself).
    series_id    bigint REFERENCES challenges (id) ON DELETE CASCADE,
    instance     integer NOT NULL DEFAULT 1,
    target_kind  text NOT NULL CHECK (target_kind IN ('community', 'tribe', 'stage')),
    target_id    text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('individual', 'group')),
    goal         jsonb NOT NULL,
    -- adaptive holds the bounds of individual goals that adapt to each member.
    adaptive     jsonb,
    -- The window: whole local days from starts_on to ends_on (inclusive), in timezone
    -- (an IANA name) or each member's own zone ('member').
    starts_on    date NOT NULL,
    ends_on      date NOT NULL CHECK (ends_on >= starts_on),
    timezone     text NOT NULL,
    recurrence   text NOT NULL DEFAULT 'none' CHECK (recurrence IN ('none', 'weekly', 'monthly', 'seasonal')),
    enrolment    text NOT NULL CHECK (enrolment IN ('opt_in', 'auto')),
    -- thresholds are the shares of the goal (percent) at which challenge.progressed fires.
    thresholds   smallint[] NOT NULL DEFAULT '{50}',
    -- A group challenge's progress (the sum of its participants'), its highest
    -- threshold announced, and when it reached its goal.
    progress     double precision NOT NULL DEFAULT 0,
    notified     smallint NOT NULL DEFAULT 0,
    completed_at timestamptz,
    ended_at     timestamptz,
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (series_id, instance)
);
CREATE INDEX challenges_window ON challenges (ends_on);

-- A member in a challenge: their own goal (adapted, or the challenge's), their
-- progress computed from their events in the window, the highest threshold announced
-- to them, and when they completed it (individual) or left.
CREATE TABLE challenge_participants (
    challenge_id bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    member_id    text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    goal         double precision NOT NULL,
    progress     double precision NOT NULL DEFAULT 0,
    notified     smallint NOT NULL DEFAULT 0,
    joined_at    timestamptz NOT NULL DEFAULT now(),
    left_at      timestamptz,
    completed_at timestamptz,
    PRIMARY KEY (challenge_id, member_id)
);
CREATE INDEX challenge_participants_member ON challenge_participants (member_id);

-- A challenge as it is read: its participants (not those who left), how many of them
-- completed it, and its copy while the content is approved.
CREATE VIEW challenge_summaries AS
SELECT c.*,
    (SELECT count(*) FROM challenge_participants p WHERE p.challenge_id = c.id AND p.left_at IS NULL)::int AS participants,
    (SELECT count(*) FROM challenge_participants p WHERE p.challenge_id = c.id AND p.left_at IS NULL
        AND p.completed_at IS NOT NULL)::int AS completed,
    (CASE WHEN d.status = 'approved' THEN d.body END)::jsonb AS body, d.locale
FROM challenges c JOIN content_drafts d ON d.id = c.content_id;

-- Completing a challenge is a milestone like any other, of its own occasion.
ALTER TABLE member_milestones DROP CONSTRAINT member_milestones_occasion_check,
    ADD CONSTRAINT member_milestones_occasion_check CHECK (occasion IN ('milestone', 'streak', 'anniversary', 'challenge'));
