package webhooks

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/storage"
)

// Dispatcher delivers the pending deliveries of an endpoint. Zero values take the
// defaults.
type Dispatcher struct {
	DB *pgxpool.Pool
	// Client sends the requests; one with a 10 s timeout that follows no redirects
	// when nil.
	Client *http.Client
	// Backoff is the wait after the nth failed attempt, before jitter (a random
	// factor from 0.5 to 1); 10 s doubling each attempt, at most an hour, when nil.
	Backoff func(attempt int) time.Duration
	// MaxAge is how long a delivery is retried before it is given up; a day.
	MaxAge time.Duration
	// Batch is how many deliveries one round claims (64), and Workers how many of
	// them are sent at once (8).
	Batch, Workers int
	// Lease is how long a claimed delivery is kept from other dispatchers (its
	// request's timeout and then some); a minute.
	Lease  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

var defaultClient = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func defaultBackoff(attempt int) time.Duration {
	d := 10 * time.Second << min(attempt-1, 10)
	return min(d, time.Hour)
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) logger() *slog.Logger { return cmp.Or(d.Logger, slog.New(slog.DiscardHandler)) }

// Run delivers what is due for the endpoint, round after round, until nothing is
// ready, and returns how long until its next pending delivery may be tried (0 when
// none is pending, or the endpoint is disabled or gone).
func (d *Dispatcher) Run(ctx context.Context, endpoint int64) (time.Duration, error) {
	start := time.Now()
	for {
		if time.Since(start) > time.Minute {
			return time.Millisecond, nil // a backlog: come back at once, as a fresh job run
		}
		q := storage.New(d.DB)
		ep, err := q.GetEndpoint(ctx, endpoint)
		if err != nil {
			if err = storage.Translate(err, ErrNoEndpoint); errors.Is(err, ErrNoEndpoint) {
				return 0, nil // deleted
			}
			return 0, fmt.Errorf("webhook endpoint %d: %w", endpoint, err)
		}
		if !ep.Enabled {
			return 0, nil
		}
		now := d.now()
		batch := cmp.Or(d.Batch, 64)
		claimed, err := storage.ClaimDeliveries(ctx, d.DB, endpoint, now, now.Add(cmp.Or(d.Lease, time.Minute)), batch)
		if err != nil {
			return 0, fmt.Errorf("claim deliveries of webhook endpoint %d: %w", endpoint, storage.Translate(err, nil))
		}
		failed := false
		if len(claimed) > 0 {
			if failed, err = d.deliver(ctx, ep, claimed); err != nil {
				return 0, err
			}
		}
		// A round with a failure ends the run: the receiver is not hammered with the
		// rest of the backlog, which waits for the retry with the failed ones.
		if len(claimed) < batch || failed {
			next, err := q.NextDeliveryAt(ctx, endpoint)
			if err != nil {
				return 0, fmt.Errorf("next delivery of webhook endpoint %d: %w", endpoint, storage.Translate(err, nil))
			}
			if next.After(now.Add(365 * 24 * time.Hour)) { // infinity: nothing pending
				return 0, nil
			}
			if wait := next.Sub(d.now()); wait > 0 {
				return wait, nil
			}
			if len(claimed) == 0 {
				// Due, but behind an earlier event of its member that is being tried
				// elsewhere: look again shortly.
				return time.Second, nil
			}
		}
	}
}

// deliver sends claimed deliveries, a few at a time, records what happened, and
// says whether any failed.
func (d *Dispatcher) deliver(ctx context.Context, ep storage.WebhookEndpoint, claimed []storage.Delivery) (bool, error) {
	secrets := []string{ep.Secret}
	if ep.PreviousSecret != nil && ep.PreviousExpiresAt != nil && d.now().Before(*ep.PreviousExpiresAt) {
		secrets = append(secrets, *ep.PreviousSecret)
	}
	outcomes := make([]storage.Outcome, len(claimed))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(cmp.Or(d.Workers, 8), len(claimed)) {
		wg.Go(func() {
			for i := range work {
				outcomes[i] = d.attempt(ctx, ep, secrets, claimed[i])
			}
		})
	}
	for i := range claimed {
		work <- i
	}
	close(work)
	wg.Wait()

	now := d.now()
	if err := storage.RecordOutcomes(ctx, d.DB, now, outcomes); err != nil {
		return false, fmt.Errorf("record deliveries to webhook endpoint %d: %w", ep.ID, storage.Translate(err, nil))
	}
	q := storage.New(d.DB)
	var gone, gaveUp *storage.Outcome
	delivered, failed := false, false
	for i, o := range outcomes {
		failed = failed || !o.Delivered
		switch {
		case o.Delivered:
			delivered = true
		case o.Status == http.StatusGone:
			gone = &outcomes[i]
		case o.Failed:
			gaveUp = &outcomes[i]
		}
	}
	if delivered {
		if err := q.TouchEndpoint(ctx, storage.TouchEndpointParams{ID: ep.ID, At: now}); err != nil {
			return false, fmt.Errorf("webhook endpoint %d: %w", ep.ID, storage.Translate(err, nil))
		}
		ep.LastDeliveredAt = &now
	}
	reason := ""
	switch {
	case gone != nil:
		reason = "the receiver answered 410 Gone"
	case gaveUp != nil && (ep.LastDeliveredAt == nil || now.Sub(*ep.LastDeliveredAt) > d.maxAge()) &&
		now.Sub(ep.CreatedAt) > d.maxAge():
		reason = fmt.Sprintf("nothing was delivered for %s; last error: %s", d.maxAge(), gaveUp.Error)
	}
	if reason != "" {
		if _, err := q.DisableEndpoint(ctx, storage.DisableEndpointParams{ID: ep.ID, Reason: reason, Now: now}); err != nil {
			return false, fmt.Errorf("disable webhook endpoint %d: %w", ep.ID, storage.Translate(err, nil))
		}
		d.logger().WarnContext(ctx, "webhook endpoint disabled", slog.Int64("endpoint_id", ep.ID), slog.String("reason", reason))
	}
	return failed, nil
}

func (d *Dispatcher) maxAge() time.Duration { return cmp.Or(d.MaxAge, 24*time.Hour) }

// attempt sends one delivery and says what became of it.
func (d *Dispatcher) attempt(ctx context.Context, ep storage.WebhookEndpoint, secrets []string, dl storage.Delivery) storage.Outcome {
	out := storage.Outcome{ID: dl.ID}
	status, err := d.post(ctx, ep.Url, secrets, dl)
	out.Status = int32(status)
	if err == nil && status >= 200 && status < 300 {
		out.Delivered = true
		return out
	}
	if err != nil {
		out.Error = err.Error()
	} else {
		out.Error = "status " + strconv.Itoa(status)
	}
	now := d.now()
	next := d.Backoff
	if next == nil {
		next = defaultBackoff
	}
	backoff := next(int(dl.Attempts))
	out.Next = now.Add(time.Duration(float64(backoff) * (0.5 + rand.Float64()/2)))
	// Given up once the next try would fall past the horizon (410 Gone at once).
	out.Failed = status == http.StatusGone || out.Next.Sub(dl.ScheduledAt) > d.maxAge()
	return out
}

// post sends a delivery's message, signed, and returns the status the receiver
// answered.
func (d *Dispatcher) post(ctx context.Context, target string, secrets []string, dl storage.Delivery) (int, error) {
	id := EventID(dl.EventID)
	body, err := json.Marshal(Message{ID: id, Type: dl.Type, Timestamp: dl.CreatedAt.UTC(), Data: dl.Data})
	if err != nil {
		return 0, err
	}
	ts := d.now()
	sig, err := Sign(secrets, id, ts, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Belong-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := cmp.Or(d.Client, defaultClient).Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
