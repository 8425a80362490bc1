-- 0016: a recognition whose recognition.due is held back (quiet hours in the
-- member's time zone, or a frequency cap) waits until hold_until; the announcer
-- skips it until then.
ALTER TABLE member_milestones ADD COLUMN hold_until timestamptz;

-- An activity summary says when it last changed, so that an export of changes since a
-- time includes members who were active since.
ALTER TABLE member_activity ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
