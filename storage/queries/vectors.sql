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
-- With every above 1 only about one member in every is read (by a hash of the id):
-- a sample.
SELECT m.id, m.interests, m.causes, m.skill_level, v.source_hash,
	coalesce(a.types, '{}')::text[] AS types, coalesce(a.categories, '{}')::text[] AS categories,
	coalesce(a.weights, '{}')::float8[] AS weights
FROM members m
LEFT JOIN member_vectors v ON v.member_id = m.id
LEFT JOIN LATERAL (
	SELECT array_agg(type) AS types, array_agg(category) AS categories, array_agg(weight) AS weights
	FROM (
		SELECT e.type, coalesce(e.props->>'category', '') AS category,
			-- In float8: extract() answers numeric, whose power() cost most of the read.
			sum(power(0.5::float8, greatest(extract(epoch FROM sqlc.arg(at)::timestamptz - e.occurred_at)::float8, 0) / sqlc.arg(half_life)::float8)) AS weight
		FROM member_events e WHERE e.member_id = m.id
		GROUP BY 1, 2
	) g
) a ON true
WHERE m.consent_personalization AND m.id > @after
	AND (sqlc.arg(every)::int <= 1 OR abs(hashtext(m.id)) % sqlc.arg(every)::int = 0)
ORDER BY m.id
LIMIT @lim;

-- name: LoadVectors :many
-- The vectors of consenting members made by model, ordered by member id. EachVector
-- streams it row by row: a million vectors are never held twice.
SELECT v.member_id, v.embedding FROM member_vectors v
JOIN members m ON m.id = v.member_id
WHERE v.model = @model AND m.consent_personalization
ORDER BY v.member_id;

-- name: CountLoadVectors :one
-- How many rows LoadVectors reads.
SELECT count(*) FROM member_vectors v
JOIN members m ON m.id = v.member_id
WHERE v.model = @model AND m.consent_personalization;

-- name: AnalyzeVectors :exec
ANALYZE member_vectors;

-- name: PeerMember :one
-- What a global peer search starts from: consent, terms and the member's vector in
-- the run's model (NULL without one).
SELECT (m.consent_personalization AND m.consent_community)::bool AS consent, v.embedding,
	(m.interests || m.causes)::text[] AS terms, split_part(split_part(lower(m.locale), '-', 1), '_', 1)::text AS lang
FROM members m LEFT JOIN member_vectors v ON v.member_id = m.id AND v.model = @model WHERE m.id = @member_id;

-- name: Peers :many
-- Peers across the whole membership through the HNSW index. The inner query is a
-- plain index scan ordered by distance; the consent (and, with @lang, language: the
-- locale's first subtag, as members.Language) filter sits outside it so that
-- pgvector's iterative scan can keep scanning until enough rows pass.
SELECT p.member_id, m.name, p.score, (m.interests || m.causes)::text[] AS terms FROM (
	SELECT v.member_id, (1 - (v.embedding <=> @embedding::vector))::float8 AS score, v.embedding <=> @embedding::vector AS distance
	FROM member_vectors v
	WHERE v.member_id <> @member_id AND v.model = @model
	  AND EXISTS (SELECT 1 FROM members m2 WHERE m2.id = v.member_id
		AND m2.consent_personalization AND m2.consent_community
		AND (@lang::text = '' OR split_part(split_part(lower(m2.locale), '-', 1), '_', 1) = @lang::text))
	ORDER BY v.embedding <=> @embedding::vector
	LIMIT @lim) p
JOIN members m ON m.id = p.member_id
ORDER BY p.distance;

-- name: DisableIndexScans :exec
-- For the rest of the transaction: exact search, the ground truth of recall.
SET LOCAL enable_indexscan = off;

-- name: ExactPeers :many
-- Peers by a sequential scan (the caller turns index scans off): recall's ground truth,
-- with the served filters (consent; with @same_language, the member's language).
SELECT v.member_id FROM member_vectors v JOIN members m ON m.id = v.member_id,
	member_vectors me JOIN members mm ON mm.id = me.member_id
WHERE me.member_id = @member_id AND v.member_id <> @member_id
	AND m.consent_personalization AND m.consent_community
	AND (NOT @same_language::bool OR split_part(split_part(lower(mm.locale), '-', 1), '_', 1) = ''
		OR split_part(split_part(lower(m.locale), '-', 1), '_', 1) = split_part(split_part(lower(mm.locale), '-', 1), '_', 1))
ORDER BY v.embedding <=> me.embedding LIMIT @lim;

-- name: ScopedPeers :many
-- Peers among a few hundred members, exactly, in one round trip: the members whose
-- primary community in the run is @community, or (@tribe) any community of the
-- member's tribe; with @same_language only those who speak the member's language
-- (when the member's locale names one). Their
-- vectors are read from run_vectors, a few contiguous pages per community; names and
-- consent only for the nearest, until the page is full. The first columns describe
-- the member (in_run: they have a primary community in the run); the peer columns
-- are meaningful only when has_peer. No row: no such member.
WITH me AS (
	SELECT m.id, (m.consent_personalization AND m.consent_community) AS consent, (m.interests || m.causes)::text[] AS terms,
		coalesce(rv.embedding, (SELECT v.embedding FROM member_vectors v WHERE v.member_id = m.id AND v.model = @model)) AS embedding,
		pc.community_id, c.tribe_id, split_part(split_part(lower(m.locale), '-', 1), '_', 1) AS lang
	FROM members m
	LEFT JOIN memberships pc ON pc.run_id = @run_id AND pc.member_id = m.id AND pc.rank = 1
	LEFT JOIN run_vectors rv ON rv.run_id = @run_id AND rv.community_id = pc.community_id AND rv.member_id = m.id
	LEFT JOIN communities c ON c.run_id = @run_id AND c.id = pc.community_id
	WHERE m.id = @member_id
), scope AS (
	SELECT CASE WHEN @tribe::bool THEN ARRAY(SELECT tc.id FROM communities tc WHERE tc.run_id = @run_id AND tc.tribe_id = me.tribe_id)
		ELSE ARRAY[@community::text] END AS ids
	FROM me
)
SELECT me.consent::bool AS consent, me.terms, (me.community_id IS NOT NULL)::bool AS in_run,
	coalesce(me.community_id, '')::text AS community_id, coalesce(me.tribe_id, '')::text AS tribe_id,
	(p.member_id IS NOT NULL)::bool AS has_peer, coalesce(p.member_id, '')::text AS peer_id,
	coalesce(p.name, '')::text AS peer_name, coalesce(p.score, 0)::float8 AS score,
	coalesce(p.terms, '{}')::text[] AS peer_terms
FROM me LEFT JOIN LATERAL (
	SELECT m.id AS member_id, m.name, 1 - c.distance AS score, (m.interests || m.causes) AS terms
	FROM (SELECT rv.member_id, rv.embedding <=> me.embedding AS distance FROM scope, run_vectors rv
		WHERE rv.run_id = @run_id AND rv.community_id = ANY(scope.ids) AND rv.member_id <> me.id
		ORDER BY 2, 1) c
	JOIN members m ON m.id = c.member_id AND m.consent_personalization AND m.consent_community
		AND (NOT @same_language::bool OR me.lang = '' OR split_part(split_part(lower(m.locale), '-', 1), '_', 1) = me.lang)
	WHERE me.consent AND me.embedding IS NOT NULL
	ORDER BY c.distance, c.member_id LIMIT @lim) p ON true
ORDER BY p.score DESC NULLS LAST, p.member_id;

-- name: WriteRunVectors :execrows
-- Copies the vectors of a run's members under their primary community, in community
-- order (see run_vectors in migration 0009).
INSERT INTO run_vectors (run_id, community_id, member_id, embedding)
SELECT ms.run_id, ms.community_id, ms.member_id, v.embedding
FROM memberships ms JOIN cluster_runs r ON r.id = ms.run_id
JOIN member_vectors v ON v.member_id = ms.member_id AND v.model = r.model
WHERE ms.run_id = @run_id AND ms.rank = 1
ORDER BY ms.community_id, ms.member_id;

-- name: PruneRunVectors :execrows
-- Deletes the vector copies of every run older than the current one, once it has
-- been current for a minute (API nodes notice a new run within a second or so).
DELETE FROM run_vectors WHERE run_id < (SELECT run_id FROM current_run WHERE published_at < now() - interval '1 minute');

-- name: PruneRunPeers :execrows
-- Deletes the peer lists of every run older than the current one, as PruneRunVectors.
DELETE FROM run_peers WHERE run_id < (SELECT run_id FROM current_run WHERE published_at < now() - interval '1 minute');

-- name: WriteRunPeers :execrows
-- Lists each member's 64 nearest peers within their primary community of a run, from
-- the run's vector copies (WriteRunVectors first): an exact scan of each community.
INSERT INTO run_peers (run_id, member_id, community_id, peer_ids, scores)
SELECT me.run_id, me.member_id, me.community_id,
	coalesce(array_agg(p.member_id ORDER BY p.d, p.member_id) FILTER (WHERE p.member_id IS NOT NULL), '{}')::text[],
	coalesce(array_agg((1 - p.d)::real ORDER BY p.d, p.member_id) FILTER (WHERE p.member_id IS NOT NULL), '{}')::real[]
FROM run_vectors me
LEFT JOIN LATERAL (SELECT o.member_id, o.embedding <=> me.embedding AS d FROM run_vectors o
	WHERE o.run_id = me.run_id AND o.community_id = me.community_id AND o.member_id <> me.member_id
	ORDER BY 2, 1 LIMIT 64) p ON true
WHERE me.run_id = @run_id
GROUP BY me.run_id, me.member_id, me.community_id;

-- name: RunPeers :many
-- The default peer search in one round trip: the member (consent, terms, whether the
-- run placed them) and the first @lim of their precomputed peers who still consent,
-- with names and terms. The peer columns are meaningful only when has_peer. No row:
-- no such member.
SELECT me.consent::bool AS consent, me.terms, (rp.member_id IS NOT NULL)::bool AS in_run,
	coalesce(rp.community_id, '')::text AS community_id, (p.id IS NOT NULL)::bool AS has_peer, coalesce(p.id, '')::text AS peer_id, coalesce(p.name, '')::text AS peer_name,
	coalesce(p.score, 0)::float8 AS score, coalesce(p.terms, '{}')::text[] AS peer_terms
FROM (SELECT m.id, (m.consent_personalization AND m.consent_community) AS consent,
		(m.interests || m.causes)::text[] AS terms FROM members m WHERE m.id = @member_id) me
LEFT JOIN run_peers rp ON rp.run_id = @run_id AND rp.member_id = me.id
LEFT JOIN LATERAL (SELECT m.id, m.name, rp.scores[u.ord] AS score, (m.interests || m.causes) AS terms, u.ord
	FROM unnest(rp.peer_ids) WITH ORDINALITY AS u(id, ord)
	JOIN members m ON m.id = u.id AND m.consent_personalization AND m.consent_community
	WHERE me.consent
	ORDER BY u.ord LIMIT @lim) p ON true
ORDER BY p.ord;

-- name: ScrubRunPeers :execrows
-- Removes a member from the peer lists they appear in (the lists of their community's
-- members, in the runs that placed them), before the member is erased.
UPDATE run_peers rp SET peer_ids = coalesce((SELECT array_agg(u.id ORDER BY u.ord) FROM unnest(rp.peer_ids) WITH ORDINALITY AS u(id, ord)
		WHERE u.id <> @member_id::text), '{}'),
	scores = coalesce((SELECT array_agg(rp.scores[u.ord] ORDER BY u.ord) FROM unnest(rp.peer_ids) WITH ORDINALITY AS u(id, ord)
		WHERE u.id <> @member_id::text), '{}')
FROM run_vectors me JOIN run_vectors mate ON mate.run_id = me.run_id AND mate.community_id = me.community_id
WHERE me.member_id = @member_id::text AND rp.run_id = mate.run_id AND rp.member_id = mate.member_id
	AND @member_id::text = ANY(rp.peer_ids);

-- name: PrimaryCommunitiesOf :many
-- The primary communities, in the current run, of some members: the scopes whose
-- cached peer answers a change to them voids.
SELECT DISTINCT ms.community_id FROM memberships ms
WHERE ms.run_id = (SELECT run_id FROM current_run) AND ms.member_id = ANY(@ids::text[]) AND ms.rank = 1;
