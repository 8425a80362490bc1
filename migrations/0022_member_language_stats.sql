-- 0022: statistics on a member's language (their locale's first subtag, as
-- members.Language and the peer queries compute it), so the planner knows that about
-- a third of the members pass a language filter rather than guessing 0.5% and
-- leaving the HNSW index for an exact scan of everyone.
CREATE STATISTICS members_language ON (split_part(split_part(lower(locale), '-', 1), '_', 1)) FROM members;
ANALYZE members;
