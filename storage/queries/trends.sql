-- Trends across cluster runs and activity windows (package trends).

-- CurrentAndPreviousRun returns the current run and the latest published run of the
-- same model before it (0 when none).
-- name: CurrentAndPreviousRun :one
SELECT c.run_id, coalesce((SELECT max(id) FROM cluster_runs p
    WHERE p.status = 'published' AND p.id < c.run_id AND p.model = r.model), 0)::bigint AS previous_run_id
FROM current_run c JOIN cluster_runs r ON r.id = c.run_id;

-- name: CommunitySizes :many
SELECT id, size FROM communities WHERE run_id = @run_id;

-- CountActiveMembers counts the consenting members with an event in (from, to].
-- name: CountActiveMembers :one
SELECT count(DISTINCT e.member_id)::int FROM member_events e JOIN members m ON m.id = e.member_id
WHERE m.consent_personalization AND e.occurred_at > @from_time AND e.occurred_at <= @to_time;

-- TermCounts counts, for each term, the consenting members active in (from, to] who
-- hold it: their interests and causes, and the categories of their events in the
-- window.
-- name: TermCounts :many
SELECT t::text AS term, count(*)::int AS members FROM (
    SELECT DISTINCT a.member_id, t FROM (
        SELECT DISTINCT ev.member_id FROM member_events ev WHERE ev.occurred_at > @from_time AND ev.occurred_at <= @to_time) a
    JOIN members m ON m.id = a.member_id AND m.consent_personalization
    CROSS JOIN LATERAL unnest(m.interests || m.causes || coalesce((SELECT array_agg(DISTINCT e.props->>'category')
        FROM member_events e WHERE e.member_id = a.member_id AND e.occurred_at > @from_time AND e.occurred_at <= @to_time
        AND e.props ? 'category'), '{}')) AS t) x GROUP BY t;
