package service

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/webhooks"
)

// PruneResult counts what Prune deleted.
type PruneResult struct {
	Memberships     int64 `json:"memberships"`
	IdempotencyKeys int64 `json:"idempotency_keys"`
	ConsoleSessions int64 `json:"console_sessions"`
	// Events are outgoing events older than WebhookConfig.Retention, with their
	// deliveries: they can no longer be replayed.
	Events int64 `json:"events"`
}

// Prune deletes what would otherwise grow forever: memberships of all but the last
// KeepRuns published runs, Idempotency-Keys older than IdempotencyTTL, and outgoing
// events older than the webhook retention. Finished
// jobs are River's to prune (its job cleaner, configured in package jobs).
func (s *Service) Prune(ctx context.Context) (PruneResult, error) {
	var (
		res PruneResult
		err error
	)
	// Each prune stands on its own: one failing does not keep the other from running.
	ttl := cmp.Or(s.IdempotencyTTL, 24*time.Hour)
	var errKeys, errRuns, errSessions, errEvents error
	res.IdempotencyKeys, errKeys = apikey.PruneIdempotency(ctx, s.DB, s.now().Add(-ttl))
	res.ConsoleSessions, errSessions = apikey.PruneSessions(ctx, s.DB)
	res.Memberships, errRuns = matching.PruneMemberships(ctx, s.DB, cmp.Or(s.KeepRuns, 7))
	res.Events, errEvents = webhooks.Prune(ctx, s.DB, s.now().Add(-cmp.Or(s.Webhooks.Retention, 30*24*time.Hour)))
	if err = errors.Join(errKeys, errSessions, errRuns, errEvents); err != nil {
		return res, err
	}
	s.logger().InfoContext(ctx, "retention done", slog.Int64("memberships", res.Memberships),
		slog.Int64("idempotency_keys", res.IdempotencyKeys), slog.Int64("events", res.Events))
	return res, nil
}
