package service

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/webhooks"
)

// WebhookConfig shapes webhook delivery; zero values take webhooks.Dispatcher's
// defaults.
type WebhookConfig struct {
	// Client sends the requests (tests give one that trusts their TLS receivers).
	Client *http.Client
	// Backoff is the wait after the nth failed attempt, before jitter.
	Backoff func(attempt int) time.Duration
	// MaxAge is how long a delivery is retried before it is given up.
	MaxAge time.Duration
	// Retention is how long events are kept for replay; 30 days when zero.
	Retention time.Duration
}

// emit writes events to the outbox in tx and wakes the dispatchers of the endpoints
// that got deliveries: they run once tx commits.
func (s *Service) emit(ctx context.Context, tx pgx.Tx, evs []webhooks.Event) error {
	ids, err := webhooks.Emit(ctx, tx, s.now(), evs)
	if err != nil {
		return err
	}
	return s.wake(ctx, tx, ids)
}

// wake queues a delivery job for each endpoint, in tx: it runs once tx commits.
func (s *Service) wake(ctx context.Context, tx pgx.Tx, endpoints []int64) error {
	args := make([]DeliverWebhooksArgs, len(endpoints))
	for i, id := range endpoints {
		args[i] = DeliverWebhooksArgs{EndpointID: id}
	}
	_, err := enqueue(ctx, s.Queue, tx, args)
	return err
}

func (s *Service) dispatcher() *webhooks.Dispatcher {
	return &webhooks.Dispatcher{DB: s.DB, Client: s.Webhooks.Client, Backoff: s.Webhooks.Backoff, MaxAge: s.Webhooks.MaxAge,
		Now: s.Now, Logger: s.Logger}
}

// DeliverWebhooks delivers what is due for an endpoint and returns how long until
// its next pending delivery may be tried (0 when none is pending).
func (s *Service) DeliverWebhooks(ctx context.Context, endpoint int64) (time.Duration, error) {
	return s.dispatcher().Run(ctx, endpoint)
}

// SweepWebhooks wakes the dispatcher of every endpoint with deliveries due: a
// safety net for a delivery whose claim ran out (its process died).
func (s *Service) SweepWebhooks(ctx context.Context) error {
	ids, err := webhooks.Ready(ctx, s.DB, s.now())
	if err != nil || len(ids) == 0 {
		return err
	}
	return database.InTx(ctx, s.DB, func(tx pgx.Tx) error { return s.wake(ctx, tx, ids) })
}

// CreateEndpoint registers a webhook endpoint and returns it with its secret.
func (s *Service) CreateEndpoint(ctx context.Context, spec webhooks.Spec) (webhooks.Endpoint, string, error) {
	return webhooks.Create(ctx, s.DB, spec, s.now())
}

// Endpoints lists the webhook endpoints.
func (s *Service) Endpoints(ctx context.Context) ([]webhooks.Endpoint, error) {
	return webhooks.List(ctx, s.DB)
}

// Endpoint returns one webhook endpoint.
func (s *Service) Endpoint(ctx context.Context, id int64) (webhooks.Endpoint, error) {
	return webhooks.Get(ctx, s.DB, id)
}

// UpdateEndpoint changes an endpoint; enabling it sends what waited.
func (s *Service) UpdateEndpoint(ctx context.Context, id int64, p webhooks.Patch) (webhooks.Endpoint, error) {
	var ep webhooks.Endpoint
	err := database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		if ep, err = webhooks.Update(ctx, tx, id, p, s.now()); err != nil || !ep.Enabled {
			return err
		}
		return s.wake(ctx, tx, []int64{id})
	})
	return ep, err
}

// DeleteEndpoint removes an endpoint and its deliveries.
func (s *Service) DeleteEndpoint(ctx context.Context, id int64) error {
	return webhooks.Delete(ctx, s.DB, id)
}

// RotateEndpointSecret gives an endpoint a new secret; the old one signs too for keep.
func (s *Service) RotateEndpointSecret(ctx context.Context, id int64, keep time.Duration) (webhooks.Endpoint, string, error) {
	return webhooks.Rotate(ctx, s.DB, id, keep, s.now())
}

// ReplayEndpoint sends an endpoint again the events of [from, until) and returns how
// many were scheduled.
func (s *Service) ReplayEndpoint(ctx context.Context, id int64, from, until time.Time) (int64, error) {
	var n int64
	err := database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		if n, err = webhooks.Replay(ctx, tx, id, from, until, s.now()); err != nil || n == 0 {
			return err
		}
		return s.wake(ctx, tx, []int64{id})
	})
	return n, err
}

// EndpointDeliveries lists an endpoint's deliveries, newest first.
func (s *Service) EndpointDeliveries(ctx context.Context, id int64, status string, before int64, limit int) ([]webhooks.DeliveryInfo, error) {
	return webhooks.Deliveries(ctx, s.DB, id, status, before, limit)
}
