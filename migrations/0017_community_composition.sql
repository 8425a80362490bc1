-- 0017: each community explains itself: the interests, skill levels and languages of
-- its members with the share holding each, and how active they were in the 30 days
-- before the run (written by the run that publishes it; matching.Composition).
ALTER TABLE communities ADD COLUMN composition jsonb NOT NULL DEFAULT '{}';
