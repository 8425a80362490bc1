-- 0010: each member's nearest peers within their primary community, computed when a
-- run is published (storage query WriteRunPeers, the same as below): the default peer
-- search reads one row and the peers' member rows instead of scanning the
-- community's vectors. The nearest 64 are kept so that a page of up to 50 still fills
-- when some have since withdrawn consent (they are filtered out when read). Only the
-- current run's rows are kept (retention). Erasing a member deletes their row and
-- removes them from every list they appear in.
CREATE TABLE run_peers (
    run_id    bigint NOT NULL,
    member_id text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    peer_ids  text[] NOT NULL,
    scores    real[] NOT NULL,
    PRIMARY KEY (run_id, member_id)
);

-- The current run's lists, from its vector copies, so that an upgraded deployment
-- serves them at once.
INSERT INTO run_peers (run_id, member_id, peer_ids, scores)
SELECT me.run_id, me.member_id,
    coalesce(array_agg(p.member_id ORDER BY p.d, p.member_id) FILTER (WHERE p.member_id IS NOT NULL), '{}')::text[],
    coalesce(array_agg((1 - p.d)::real ORDER BY p.d, p.member_id) FILTER (WHERE p.member_id IS NOT NULL), '{}')::real[]
FROM current_run r JOIN run_vectors me ON me.run_id = r.run_id
LEFT JOIN LATERAL (SELECT o.member_id, o.embedding <=> me.embedding AS d FROM run_vectors o
    WHERE o.run_id = me.run_id AND o.community_id = me.community_id AND o.member_id <> me.member_id
    ORDER BY 2, 1 LIMIT 64) p ON true
GROUP BY me.run_id, me.member_id;
