-- 0012: a peer list names the community it was drawn from, so that a cached answer
-- built from it can be voided when someone joins or leaves that community's
-- consenting members.
ALTER TABLE run_peers ADD COLUMN community_id text NOT NULL DEFAULT '';
UPDATE run_peers rp SET community_id = rv.community_id
FROM run_vectors rv WHERE rv.run_id = rp.run_id AND rv.member_id = rp.member_id;
