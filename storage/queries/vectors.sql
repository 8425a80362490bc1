-- name: DeleteVectorsWithoutConsent :execrows
DELETE FROM member_vectors v USING members m
WHERE m.id = v.member_id AND NOT m.consent_personalization;

-- name: CountVectorsAndConsenting :one
SELECT (SELECT count(*) FROM member_vectors WHERE model = @model)::int AS stored,
	(SELECT count(*) FROM members WHERE consent_personalization)::int AS wanted;

-- name: VectorIndexes :many
-- member_vectors' vector indexes (HNSW, IVFFlat): their names and definitions.
SELECT (i.indexrelid::regclass)::text AS name, pg_get_indexdef(i.indexrelid)::text AS def
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
JOIN pg_catalog.pg_class ix ON ix.oid = i.indexrelid JOIN pg_catalog.pg_am am ON am.oid = ix.relam
WHERE t.oid = 'member_vectors'::regclass AND am.amname IN ('hnsw', 'ivfflat');

-- name: MembersToEmbed :many
-- The next batch of consenting members after id `after`, with their stored hash and
-- their recency-decayed activity (weights halve every half_life seconds before at).
SELECT m.id, m.interests, m.causes, m.skill_level, v.source_hash,
	coalesce(a.types, '{}')::text[] AS types, coalesce(a.categories, '{}')::text[] AS categories,
	coalesce(a.weights, '{}')::float8[] AS weights
FROM members m
LEFT JOIN member_vectors v ON v.member_id = m.id
LEFT JOIN LATERAL (
	SELECT array_agg(type) AS types, array_agg(category) AS categories, array_agg(weight) AS weights
	FROM (
		SELECT e.type, coalesce(e.props->>'category', '') AS category,
			sum(power(0.5, greatest(extract(epoch FROM sqlc.arg(at)::timestamptz - e.occurred_at), 0) / (sqlc.arg(half_life)::float8)::numeric)) AS weight
		FROM member_events e WHERE e.member_id = m.id
		GROUP BY 1, 2
	) g
) a ON true
WHERE m.consent_personalization AND m.id > @after
ORDER BY m.id
LIMIT @lim;

-- name: LoadVectors :many
-- The vectors of consenting members made by model, ordered by member id.
SELECT v.member_id, v.embedding FROM member_vectors v
JOIN members m ON m.id = v.member_id
WHERE v.model = @model AND m.consent_personalization
ORDER BY v.member_id;

-- name: AnalyzeVectors :exec
ANALYZE member_vectors;

-- name: PeerMember :one
-- What a peer search starts from: consent, the member's vector and model, and terms.
SELECT (m.consent_personalization AND m.consent_community)::bool AS consent, v.embedding, v.model,
	(m.interests || m.causes)::text[] AS terms
FROM members m LEFT JOIN member_vectors v ON v.member_id = m.id WHERE m.id = @member_id;

-- name: Peers :many
-- The inner query is a plain index scan ordered by distance; the filters sit outside
-- it so that pgvector's iterative scan can keep scanning until enough rows pass.
SELECT p.member_id, m.name, p.score, (m.interests || m.causes)::text[] AS terms FROM (
	SELECT v.member_id, (1 - (v.embedding <=> @embedding::vector))::float8 AS score, v.embedding <=> @embedding::vector AS distance
	FROM member_vectors v
	WHERE v.member_id <> @member_id AND v.model = @model
	  AND (@community::text = '' OR EXISTS (SELECT 1 FROM memberships ms
		WHERE ms.run_id = @run_id AND ms.member_id = v.member_id AND ms.community_id = @community::text))
	  AND EXISTS (SELECT 1 FROM members m2 WHERE m2.id = v.member_id
		AND m2.consent_personalization AND m2.consent_community)
	ORDER BY v.embedding <=> @embedding::vector
	LIMIT @lim) p
JOIN members m ON m.id = p.member_id
ORDER BY p.distance;

-- name: DisableIndexScans :exec
-- For the rest of the transaction: exact search, the ground truth of recall.
SET LOCAL enable_indexscan = off;

-- name: ExactPeers :many
-- Peers by a sequential scan (the caller turns index scans off): recall's ground truth.
SELECT v.member_id FROM member_vectors v JOIN members m ON m.id = v.member_id,
	member_vectors me WHERE me.member_id = @member_id AND v.member_id <> @member_id
	AND m.consent_personalization AND m.consent_community
ORDER BY v.embedding <=> me.embedding LIMIT @lim;
