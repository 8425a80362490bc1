package service

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/matching"
)

// PruneResult counts what Prune deleted.
type PruneResult struct {
	Memberships     int64 `json:"memberships"`
	IdempotencyKeys int64 `json:"idempotency_keys"`
	ConsoleSessions int64 `json:"console_sessions"`
}

// Prune deletes what would otherwise grow forever: memberships of all but the last
// KeepRuns published runs, and Idempotency-Keys older than IdempotencyTTL. Finished
// jobs are River's to prune (its job cleaner, configured in package jobs).
func (s *Service) Prune(ctx context.Context) (PruneResult, error) {
	var (
		res PruneResult
		err error
	)
	// Each prune stands on its own: one failing does not keep the other from running.
	ttl := cmp.Or(s.IdempotencyTTL, 24*time.Hour)
	var errKeys, errRuns, errSessions error
	res.IdempotencyKeys, errKeys = apikey.PruneIdempotency(ctx, s.DB, s.now().Add(-ttl))
	res.ConsoleSessions, errSessions = apikey.PruneSessions(ctx, s.DB)
	res.Memberships, errRuns = matching.PruneMemberships(ctx, s.DB, cmp.Or(s.KeepRuns, 7))
	if err = errors.Join(errKeys, errSessions, errRuns); err != nil {
		return res, err
	}
	s.logger().InfoContext(ctx, "retention done", slog.Int64("memberships", res.Memberships),
		slog.Int64("idempotency_keys", res.IdempotencyKeys))
	return res, nil
}
