-- name: MemberTermsByID :many
-- The terms, skill level, locale and events of the last 30 days of the given
-- members, in the order of ids; a
-- member erased meanwhile has none (the cluster run leaves them out when it writes).
SELECT coalesce(m.interests || m.causes || coalesce(
		(SELECT array_agg(DISTINCT e.props->>'category') FROM member_events e
		 WHERE e.member_id = m.id AND e.props ? 'category'), '{}'), '{}')::text[] AS terms,
	coalesce(m.skill_level, '')::text AS skill_level, coalesce(m.locale, '')::text AS locale,
	coalesce(m.attributes, '{}')::jsonb AS attributes,
	coalesce((SELECT count(*) FROM unnest(a.recent) t WHERE t > now() - interval '30 days' AND t <= now()), 0)::int AS events_30d
FROM unnest(@ids::text[]) WITH ORDINALITY AS u(id, ord)
LEFT JOIN members m ON m.id = u.id
LEFT JOIN member_activity a ON a.member_id = u.id ORDER BY u.ord;

-- name: ConsentingMemberTerms :many
-- Every consenting member's terms: the documents term models learn from.
SELECT (m.interests || m.causes || coalesce(
		(SELECT array_agg(DISTINCT e.props->>'category') FROM member_events e
		 WHERE e.member_id = m.id AND e.props ? 'category'), '{}'))::text[] AS terms
FROM members m WHERE m.consent_personalization;

-- name: SaveTermModel :one
-- Stores a term model as the next version.
INSERT INTO term_models (version, dim, members, terms, doc_freq)
VALUES (coalesce((SELECT max(version) FROM term_models), 0) + 1, @dim, @members, @terms, @doc_freq) RETURNING version;

-- name: LatestTermModel :one
SELECT version, dim, members, terms, doc_freq FROM term_models ORDER BY version DESC LIMIT 1;

-- name: SaveVectorCenter :one
-- Stores a center as the model's next version.
INSERT INTO vector_centers (model, version, center, members, squeeze_before, squeeze_after)
VALUES (sqlc.arg(model)::text, coalesce((SELECT max(version) FROM vector_centers WHERE model = sqlc.arg(model)::text), 0) + 1,
	@center, @members, @squeeze_before, @squeeze_after)
RETURNING version;

-- name: LatestVectorCenter :one
SELECT version, center, members, squeeze_before, squeeze_after FROM vector_centers
WHERE model = @model ORDER BY version DESC LIMIT 1;
