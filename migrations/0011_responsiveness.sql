-- 0011: a member's responsiveness to recognition (the mean of (events in the week
-- after + 1) / (events in the week before + 1) over their delivered recognitions at
-- least a week old) is kept on the member, refreshed hourly by the signals job,
-- instead of being computed by every moment read (a fifth of that query's cost).
ALTER TABLE members ADD COLUMN responsiveness real NOT NULL DEFAULT 0;

UPDATE members m SET responsiveness = r.resp
FROM (SELECT ms.member_id, avg(((SELECT count(*) FROM member_events e WHERE e.member_id = ms.member_id
            AND e.occurred_at > ms.occurred_at AND e.occurred_at <= ms.occurred_at + interval '7 days') + 1.0)
        / ((SELECT count(*) FROM member_events e WHERE e.member_id = ms.member_id
            AND e.occurred_at > ms.occurred_at - interval '7 days' AND e.occurred_at <= ms.occurred_at) + 1.0))::real AS resp
    FROM member_milestones ms WHERE ms.delivered_at IS NOT NULL AND ms.occurred_at <= now() - interval '7 days'
    GROUP BY ms.member_id) r
WHERE m.id = r.member_id;
