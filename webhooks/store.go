package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// ErrNoEndpoint means no endpoint has the given id.
var ErrNoEndpoint = belong.New(belong.ENOTFOUND, "endpoint_not_found", "webhook endpoint not found")

func invalid(msg string) error { return belong.New(belong.EINVALID, "invalid_endpoint", msg) }

// Endpoint is a registered receiver, as the API shows it: never its secrets.
type Endpoint struct {
	ID             int64    `json:"id,string"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	EventTypes     []string `json:"event_types"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	// PreviousSecretExpiresAt is when the secret replaced by the last rotation stops
	// signing deliveries.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	LastDeliveredAt         *time.Time `json:"last_delivered_at,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func endpointOf(r storage.WebhookEndpoint) Endpoint {
	return Endpoint{ID: r.ID, URL: r.Url, Description: r.Description, EventTypes: r.EventTypes, Enabled: r.Enabled,
		DisabledReason: r.DisabledReason, PreviousSecretExpiresAt: r.PreviousExpiresAt, LastDeliveredAt: r.LastDeliveredAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Spec is what an endpoint is made of: where it is and what it hears.
type Spec struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
}

// check validates a spec and returns it with its event types sorted and unique.
func (s Spec) check() (Spec, error) {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || len(s.URL) > 2048 ||
		strings.ContainsAny(s.URL, " \t\r\n") || u.Fragment != "" {
		return s, invalid("url must be an absolute http or https URL of at most 2048 bytes, without spaces or a #fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return s, invalid("url has port " + p + ": a port is 1 to 65535")
		}
	}
	if u.User != nil {
		return s, invalid("url must not hold credentials: each delivery is signed with the endpoint's secret instead")
	}
	if len(s.Description) > 500 {
		return s, invalid("description is longer than 500 bytes")
	}
	if len(s.EventTypes) == 0 {
		return s, invalid("event_types lists the events to send, such as recognition.due: " + strings.Join(Types, ", "))
	}
	for _, t := range s.EventTypes {
		if !slices.Contains(Types, t) {
			return s, invalid(fmt.Sprintf("unknown event type %q: one of %s", t, strings.Join(Types, ", ")))
		}
	}
	s.EventTypes = slices.Compact(slices.Sorted(slices.Values(s.EventTypes)))
	return s, nil
}

// Create registers an endpoint and returns it with its signing secret, which is
// shown only here and by Rotate.
func Create(ctx context.Context, db database.DBTX, s Spec, now time.Time) (Endpoint, string, error) {
	s, err := s.check()
	if err != nil {
		return Endpoint{}, "", err
	}
	secret := NewSecret()
	r, err := storage.New(db).CreateEndpoint(ctx, storage.CreateEndpointParams{Url: s.URL, Description: s.Description,
		EventTypes: s.EventTypes, Secret: secret, Now: now})
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("create webhook endpoint: %w", storage.Translate(err, nil))
	}
	return endpointOf(r), secret, nil
}

// List returns every endpoint, by id.
func List(ctx context.Context, db database.DBTX) ([]Endpoint, error) {
	rows, err := storage.New(db).ListEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", storage.Translate(err, nil))
	}
	out := make([]Endpoint, len(rows))
	for i, r := range rows {
		out[i] = endpointOf(r)
	}
	return out, nil
}

// Get returns one endpoint.
func Get(ctx context.Context, db database.DBTX, id int64) (Endpoint, error) {
	r, err := storage.New(db).GetEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhook endpoint %d: %w", id, storage.Translate(err, ErrNoEndpoint))
	}
	return endpointOf(r), nil
}

// Patch changes what it sets (nil leaves a field as it is).
type Patch struct {
	URL         *string  `json:"url"`
	Description *string  `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     *bool    `json:"enabled"`
}

// Update applies a patch. Enabling an endpoint clears why it was disabled; its
// deliveries that were still pending go out again.
func Update(ctx context.Context, db database.DBTX, id int64, p Patch, now time.Time) (Endpoint, error) {
	var out Endpoint
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		r, err := q.LockEndpoint(ctx, id)
		if err != nil {
			return fmt.Errorf("webhook endpoint %d: %w", id, storage.Translate(err, ErrNoEndpoint))
		}
		s := Spec{URL: r.Url, Description: r.Description, EventTypes: r.EventTypes}
		if p.URL != nil {
			s.URL = *p.URL
		}
		if p.Description != nil {
			s.Description = *p.Description
		}
		if p.EventTypes != nil {
			s.EventTypes = p.EventTypes
		}
		if s, err = s.check(); err != nil {
			return err
		}
		enabled, reason := r.Enabled, r.DisabledReason
		if p.Enabled != nil && *p.Enabled != r.Enabled {
			enabled, reason = *p.Enabled, ""
			if !enabled {
				reason = "disabled by an administrator"
			}
		}
		r, err = q.UpdateEndpoint(ctx, storage.UpdateEndpointParams{ID: id, Url: s.URL, Description: s.Description,
			EventTypes: s.EventTypes, Enabled: enabled, DisabledReason: reason, Now: now})
		if err != nil {
			return fmt.Errorf("update webhook endpoint %d: %w", id, storage.Translate(err, nil))
		}
		// Unsubscribed types are not sent, not even what was waiting.
		if err := q.DropUnsubscribedDeliveries(ctx, id); err != nil {
			return fmt.Errorf("update webhook endpoint %d: %w", id, storage.Translate(err, nil))
		}
		out = endpointOf(r)
		return nil
	})
	return out, err
}

// Delete removes an endpoint and its deliveries.
func Delete(ctx context.Context, db database.DBTX, id int64) error {
	n, err := storage.New(db).DeleteEndpoint(ctx, id)
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %d: %w", id, storage.Translate(err, nil))
	}
	if n == 0 {
		return ErrNoEndpoint
	}
	return nil
}

// Rotate gives an endpoint a new secret and returns it; the old one keeps signing
// deliveries (a second signature in the same header) for keep, so the receiver can
// switch to the new secret without refusing anything in between.
func Rotate(ctx context.Context, db database.DBTX, id int64, keep time.Duration, now time.Time) (Endpoint, string, error) {
	secret := NewSecret()
	r, err := storage.New(db).RotateSecret(ctx, storage.RotateSecretParams{ID: id, Secret: secret, Now: now,
		PreviousExpiresAt: ptr(now.Add(keep))})
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("rotate the secret of webhook endpoint %d: %w", id, storage.Translate(err, ErrNoEndpoint))
	}
	return endpointOf(r), secret, nil
}

func ptr[T any](v T) *T { return &v }

// Replay schedules again every event of the endpoint's types created in [from,
// until), whether it was delivered, given up or never sent (the endpoint was
// disabled), and returns how many. Receivers see the same event ids again.
func Replay(ctx context.Context, tx pgx.Tx, id int64, from, until, now time.Time) (int64, error) {
	if _, err := storage.New(tx).LockEndpoint(ctx, id); err != nil {
		return 0, fmt.Errorf("webhook endpoint %d: %w", id, storage.Translate(err, ErrNoEndpoint))
	}
	n, err := storage.New(tx).ReplayEvents(ctx, storage.ReplayEventsParams{EndpointID: id, FromTime: from, UntilTime: until, Now: now})
	if err != nil {
		return 0, fmt.Errorf("replay webhook endpoint %d: %w", id, storage.Translate(err, nil))
	}
	return n, nil
}

// DeliveryInfo is one delivery as the API lists it.
type DeliveryInfo struct {
	ID          int64      `json:"id,string"`
	EventID     string     `json:"event_id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	NextAt      *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	LastStatus  int        `json:"last_status,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// Deliveries lists an endpoint's deliveries, newest first, optionally of one status,
// before a delivery id (0: from the newest).
func Deliveries(ctx context.Context, db database.DBTX, id int64, status string, before int64, limit int) ([]DeliveryInfo, error) {
	if _, err := Get(ctx, db, id); err != nil {
		return nil, err
	}
	rows, err := storage.New(db).ListDeliveries(ctx, storage.ListDeliveriesParams{EndpointID: id, Status: status,
		Before: before, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list deliveries of webhook endpoint %d: %w", id, storage.Translate(err, nil))
	}
	out := make([]DeliveryInfo, len(rows))
	for i, r := range rows {
		out[i] = DeliveryInfo{ID: r.ID, EventID: EventID(r.EventID), Type: r.Type, Status: r.Status, Attempts: int(r.Attempts),
			ScheduledAt: r.ScheduledAt, DeliveredAt: r.DeliveredAt, LastStatus: int(r.LastStatus), LastError: r.LastError}
		if r.Status == "pending" {
			out[i].NextAt = &r.NextAt
		}
	}
	return out, nil
}

// Emit writes events to the outbox at now, in the caller's transaction, with a
// delivery for each subscribed endpoint, and returns the endpoints that got
// deliveries (their dispatchers are to be woken).
func Emit(ctx context.Context, tx pgx.Tx, now time.Time, evs []Event) ([]int64, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	types := make([]string, len(evs))
	members := make([]string, len(evs))
	data := make([][]byte, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", e.Type, err)
		}
		types[i], members[i], data[i] = e.Type, e.MemberID, b
	}
	ids, err := storage.EmitEvents(ctx, tx, now, types, members, data)
	if err != nil {
		return nil, fmt.Errorf("write events: %w", storage.Translate(err, nil))
	}
	return ids, nil
}

// EmitRun writes the events of publishing run over previous (0 for none), in the
// publishing transaction: cluster_run.published, community.born and
// community.retired, and membership.changed for every member whose primary
// community changed or who was first placed.
func EmitRun(ctx context.Context, tx pgx.Tx, now time.Time, run, previous int64) ([]int64, error) {
	ids, err := storage.EmitRunEvents(ctx, tx, now, run, previous)
	if err != nil {
		return nil, fmt.Errorf("write the events of run %d: %w", run, storage.Translate(err, nil))
	}
	return ids, nil
}

// EraseMember deletes a member's events and their deliveries.
func EraseMember(ctx context.Context, tx pgx.Tx, memberID string) error {
	if err := storage.New(tx).EraseMemberEvents(ctx, memberID); err != nil {
		return fmt.Errorf("erase events: %w", storage.Translate(err, nil))
	}
	return nil
}

// Prune deletes the events created before before, with their deliveries.
func Prune(ctx context.Context, db database.DBTX, before time.Time) (int64, error) {
	n, err := storage.New(db).PruneEvents(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", storage.Translate(err, nil))
	}
	return n, nil
}

// Ready returns the enabled endpoints with deliveries due by now.
func Ready(ctx context.Context, db database.DBTX, now time.Time) ([]int64, error) {
	ids, err := storage.New(db).EndpointsWithReadyDeliveries(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("endpoints with deliveries: %w", storage.Translate(err, nil))
	}
	return ids, nil
}
