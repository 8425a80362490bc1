-- 0007: co-creation. A pilot invites a stratified, reproducible sample of consenting
-- members; a member is in at most one active pilot. Feedback carries a rating, text
-- and its sentiment, optionally within a pilot.
CREATE TABLE pilots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    size       integer NOT NULL CHECK (size > 0),
    target     jsonb NOT NULL,
    seed       bigint NOT NULL,
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz
);

CREATE TABLE pilot_invitations (
    pilot_id   bigint NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
    member_id  text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    stratum    text NOT NULL,
    invited_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pilot_id, member_id)
);
CREATE INDEX pilot_invitations_member ON pilot_invitations (member_id);

CREATE TABLE feedback (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    pilot_id   bigint REFERENCES pilots (id) ON DELETE SET NULL,
    rating     integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text       text NOT NULL DEFAULT '',
    sentiment  real NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_pilot ON feedback (pilot_id);
CREATE INDEX feedback_member ON feedback (member_id);
