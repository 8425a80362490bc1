package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/belong-loyalty/belong/accounts"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/storage"
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
	// DryRuns are dry runs finished more than DryRunRetention ago, with their reports.
	DryRuns int64 `json:"dry_runs"`
	// Nights are the nightly pipeline's records of its shards, kept as long as dry runs.
	Nights int64 `json:"nights"`
}

// DryRunRetention is how long a finished dry run's report is kept.
const DryRunRetention = 90 * 24 * time.Hour

// Prune deletes what would otherwise grow forever: memberships of all but the last
// KeepRuns published runs, Idempotency-Keys older than IdempotencyTTL, outgoing
// events older than the webhook retention, and dry runs finished (and nightly
// pipeline records started) more than DryRunRetention ago. Finished
// jobs are River's to prune (its job cleaner, configured in package jobs).
func (s *Service) Prune(ctx context.Context) (PruneResult, error) {
	var (
		res PruneResult
		err error
	)
	// Each prune stands on its own: one failing does not keep the other from running.
	ttl := cmp.Or(s.IdempotencyTTL, 24*time.Hour)
	var errKeys, errRuns, errSessions, errEvents, errDry error
	res.IdempotencyKeys, errKeys = apikey.PruneIdempotency(ctx, s.DB, s.now().Add(-ttl))
	res.ConsoleSessions, errSessions = accounts.PruneSessions(ctx, s.DB)
	res.Memberships, errRuns = matching.PruneMemberships(ctx, s.DB, cmp.Or(s.KeepRuns, 7))
	res.Events, errEvents = webhooks.Prune(ctx, s.DB, s.now().Add(-cmp.Or(s.Webhooks.Retention, 30*24*time.Hour)))
	res.DryRuns, errDry = storage.New(s.DB).PruneDryRuns(ctx, s.now().Add(-DryRunRetention))
	if errDry != nil {
		errDry = fmt.Errorf("prune dry runs: %w", storage.Translate(errDry, nil))
	}
	var errNights error
	if res.Nights, errNights = storage.New(s.DB).PruneNightlyRuns(ctx, s.now().Add(-DryRunRetention)); errNights != nil {
		errNights = fmt.Errorf("prune nightly records: %w", storage.Translate(errNights, nil))
	}
	if err = errors.Join(errKeys, errSessions, errRuns, errEvents, errDry, errNights); err != nil {
		return res, err
	}
	s.logger().InfoContext(ctx, "retention done", slog.Int64("memberships", res.Memberships),
		slog.Int64("idempotency_keys", res.IdempotencyKeys), slog.Int64("events", res.Events), slog.Int64("dry_runs", res.DryRuns))
	return res, nil
}
