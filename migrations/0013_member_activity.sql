-- 0013: each member's activity summary, kept by the transaction that ingests their
-- events, so that a moment reads one row instead of aggregating every event the
-- member ever sent (that aggregate was about 40% of the moment query's cost).
--
-- total and first_at cover all events; recent holds the times of the events in the
-- last 92 days as of the member's latest ingest (the moment's windows reach back 90
-- days, and a caller's local_time may set its now a day back), contributions and
-- negative the times of those that help the community (moments.ContributionTypes)
-- or are negative feedback (a complaint, or feedback rated 0-2). Order within the
-- arrays does not matter.
CREATE TABLE member_activity (
    member_id text PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
    total bigint NOT NULL,
    first_at timestamptz NOT NULL,
    recent timestamptz[] NOT NULL,
    contributions timestamptz[] NOT NULL,
    negative timestamptz[] NOT NULL
);

INSERT INTO member_activity (member_id, total, first_at, recent, contributions, negative)
SELECT member_id, count(*), min(occurred_at),
    coalesce(array_agg(occurred_at) FILTER (WHERE occurred_at > now() - interval '92 days'), '{}'),
    coalesce(array_agg(occurred_at) FILTER (WHERE occurred_at > now() - interval '92 days'
        AND type IN ('helped_member', 'review_posted', 'referral_made', 'event_hosted', 'answer_posted')), '{}'),
    coalesce(array_agg(occurred_at) FILTER (WHERE occurred_at > now() - interval '92 days'
        AND (type = 'complaint' OR (type = 'feedback' AND CASE WHEN props->>'rating' ~ '^[0-9]{1,9}$'
            THEN (props->>'rating')::int <= 2 ELSE false END))), '{}')
FROM member_events GROUP BY member_id;
