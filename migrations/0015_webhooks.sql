-- 0015: outgoing events. A change writes its events to outbox_events in its own
-- transaction, with a delivery for every enabled endpoint subscribed to the type;
-- jobs deliver them after commit (package webhooks).
CREATE TABLE outbox_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type text NOT NULL,
    -- member_id is whose event it is, if anyone's: deliveries of one member's events
    -- to an endpoint go in order, and erasure deletes them.
    member_id text,
    created_at timestamptz NOT NULL,
    data jsonb NOT NULL
);
CREATE INDEX outbox_events_created ON outbox_events (created_at);
CREATE INDEX outbox_events_member ON outbox_events (member_id) WHERE member_id IS NOT NULL;

CREATE TABLE webhook_endpoints (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url text NOT NULL,
    description text NOT NULL DEFAULT '',
    event_types text[] NOT NULL,
    -- secret signs every delivery; after a rotation previous_secret signs too, until
    -- previous_expires_at, so receivers can switch without a gap.
    secret text NOT NULL,
    previous_secret text,
    previous_expires_at timestamptz,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text NOT NULL DEFAULT '',
    -- last_delivered_at is the last successful delivery: an endpoint that gives up on
    -- a delivery with none for the whole retry horizon is disabled.
    last_delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id bigint NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    -- ordering_key is the event's member ('' for none): an endpoint gets a member's
    -- events in order, each only after the one before was delivered or given up.
    ordering_key text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts int NOT NULL DEFAULT 0,
    -- scheduled_at starts the retry horizon (a day by default); next_at is when the
    -- next attempt may start (a claimed delivery's lease ends then too).
    scheduled_at timestamptz NOT NULL,
    next_at timestamptz NOT NULL,
    delivered_at timestamptz,
    last_status int NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT '',
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_ready ON webhook_deliveries (endpoint_id, next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, ordering_key, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Approved content can be withdrawn (content.withdrawn): it is no longer served.
ALTER TABLE content_drafts DROP CONSTRAINT content_drafts_status_check;
ALTER TABLE content_drafts ADD CONSTRAINT content_drafts_status_check
    CHECK (status IN ('draft', 'approved', 'rejected', 'withdrawn'));
ALTER TABLE content_reviews DROP CONSTRAINT content_reviews_action_check;
ALTER TABLE content_reviews ADD CONSTRAINT content_reviews_action_check
    CHECK (action IN ('created', 'edited', 'approved', 'rejected', 'withdrawn'));
