-- Webhook endpoints, their deliveries, and the recognitions announced as due.

-- name: CreateEndpoint :one
INSERT INTO webhook_endpoints (url, description, event_types, secret, created_at, updated_at)
VALUES (@url, @description, @event_types, @secret, sqlc.arg(now), sqlc.arg(now)) RETURNING *;

-- name: ListEndpoints :many
SELECT * FROM webhook_endpoints ORDER BY id;

-- name: GetEndpoint :one
SELECT * FROM webhook_endpoints WHERE id = @id;

-- name: LockEndpoint :one
SELECT * FROM webhook_endpoints WHERE id = @id FOR UPDATE;

-- name: UpdateEndpoint :one
UPDATE webhook_endpoints SET url = @url, description = @description, event_types = @event_types,
	enabled = @enabled, disabled_reason = @disabled_reason, updated_at = @now
WHERE id = @id RETURNING *;

-- name: DisableEndpoint :execrows
UPDATE webhook_endpoints SET enabled = false, disabled_reason = @reason, updated_at = @now
WHERE id = @id AND enabled;

-- name: DeleteEndpoint :execrows
DELETE FROM webhook_endpoints WHERE id = @id;

-- name: RotateSecret :one
UPDATE webhook_endpoints SET previous_secret = secret, previous_expires_at = @previous_expires_at,
	secret = @secret, updated_at = @now
WHERE id = @id RETURNING *;

-- name: TouchEndpoint :exec
-- TouchEndpoint records a successful delivery to the endpoint.
UPDATE webhook_endpoints SET last_delivered_at = @at::timestamptz WHERE id = @id AND (last_delivered_at IS NULL OR last_delivered_at < @at::timestamptz);

-- name: ReplayEvents :execrows
-- ReplayEvents schedules again, now, every event created in [from, until) of the
-- types the endpoint subscribes to: those it had are reset, those it missed (it was
-- disabled, or not subscribed then) are added.
INSERT INTO webhook_deliveries (endpoint_id, event_id, ordering_key, scheduled_at, next_at)
SELECT w.id, e.id, coalesce(e.member_id, ''), sqlc.arg(now), sqlc.arg(now)
	FROM outbox_events e JOIN webhook_endpoints w ON w.id = @endpoint_id AND e.type = ANY(w.event_types)
	WHERE e.created_at >= @from_time AND e.created_at < @until_time
ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', attempts = 0,
	scheduled_at = excluded.scheduled_at, next_at = excluded.next_at, delivered_at = NULL, last_status = 0, last_error = '';

-- name: ListDeliveries :many
SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.scheduled_at, d.next_at, d.delivered_at,
		d.last_status, d.last_error
	FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id
	WHERE d.endpoint_id = @endpoint_id AND (@status::text = '' OR d.status = @status::text)
	  AND (@before::bigint = 0 OR d.id < @before::bigint)
	ORDER BY d.id DESC LIMIT @lim;

-- name: NextDeliveryAt :one
-- NextDeliveryAt is when the endpoint's next pending delivery may be tried ('infinity'
-- when none is pending).
SELECT coalesce(min(next_at), 'infinity')::timestamptz FROM webhook_deliveries
WHERE endpoint_id = @endpoint_id AND status = 'pending';

-- name: EndpointsWithReadyDeliveries :many
SELECT w.id FROM webhook_endpoints w
WHERE w.enabled AND EXISTS (SELECT 1 FROM webhook_deliveries d
	WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_at <= @now)
ORDER BY w.id;

-- name: UnannouncedRecognitions :many
-- UnannouncedRecognitions locks up to lim recognitions with an approved message whose
-- recognition.due is not written yet and is not held past now, with what the event
-- says, the member's time zone and when they were last sent recognitions (announced
-- or delivered since since), skipping those another release holds.
SELECT ms.id, ms.member_id, ms.key, ms.occasion, ms.detail, ms.occurred_at, ms.fired_at, m.timezone,
		d.id AS content_id, d.kind AS content_kind, d.locale AS content_locale, d.version AS content_version,
		d.body AS content_body,
		(SELECT coalesce(array_agg(coalesce(x.delivered_at, x.announced_at)), '{}') FROM member_milestones x
			WHERE x.member_id = ms.member_id AND coalesce(x.delivered_at, x.announced_at) > @since::timestamptz)::timestamptz[] AS sent
	FROM member_milestones ms JOIN content_drafts d ON d.id = ms.draft_id AND d.status = 'approved'
	JOIN members m ON m.id = ms.member_id
	WHERE ms.delivered_at IS NULL AND ms.announced_at IS NULL AND ms.draft_id IS NOT NULL
	  AND (ms.hold_until IS NULL OR ms.hold_until <= @now::timestamptz)
	ORDER BY ms.fired_at, ms.id LIMIT @lim
	FOR UPDATE OF ms SKIP LOCKED;

-- name: HoldRecognitions :exec
UPDATE member_milestones ms SET hold_until = x.until
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@untils::timestamptz[]) AS until) x WHERE ms.id = x.id;

-- name: MarkAnnounced :exec
UPDATE member_milestones SET announced_at = @at::timestamptz WHERE id = ANY(@ids::bigint[]);

-- name: EraseMemberEvents :exec
DELETE FROM outbox_events WHERE member_id = @member_id::text;

-- name: PruneEvents :execrows
DELETE FROM outbox_events WHERE created_at < @before;

-- name: DropUnsubscribedDeliveries :exec
-- DropUnsubscribedDeliveries deletes an endpoint's pending deliveries of event types
-- it no longer subscribes to.
DELETE FROM webhook_deliveries d USING outbox_events e, webhook_endpoints w
WHERE d.endpoint_id = @endpoint_id AND w.id = d.endpoint_id AND e.id = d.event_id
  AND d.status = 'pending' AND NOT e.type = ANY(w.event_types);
