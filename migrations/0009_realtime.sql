-- 0009: the real-time reads. run_vectors holds a copy of each member's vector under
-- their primary community of a published run, written in community order, so that
-- peers within a community (or a tribe) read a few contiguous pages instead of one
-- random page per member. Only the current run's copy is kept (retention deletes the
-- rest); erasing a member deletes theirs.
CREATE TABLE run_vectors (
    run_id       bigint NOT NULL,
    community_id text NOT NULL,
    member_id    text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    embedding    vector(256) NOT NULL,
    PRIMARY KEY (run_id, community_id, member_id),
    FOREIGN KEY (run_id, community_id) REFERENCES communities (run_id, id) ON DELETE CASCADE
);
CREATE INDEX run_vectors_member ON run_vectors (member_id);

-- The current run's copy, so that an upgraded deployment serves peers at once.
INSERT INTO run_vectors (run_id, community_id, member_id, embedding)
SELECT ms.run_id, ms.community_id, ms.member_id, v.embedding
FROM current_run r JOIN cluster_runs cr ON cr.id = r.run_id
JOIN memberships ms ON ms.run_id = r.run_id AND ms.rank = 1
JOIN member_vectors v ON v.member_id = ms.member_id AND v.model = cr.model
ORDER BY ms.community_id, ms.member_id;

-- Peers within a tribe read the communities of one tribe of one run.
CREATE INDEX communities_tribe ON communities (run_id, tribe_id);
