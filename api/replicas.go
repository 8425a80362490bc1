package api

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/belong-loyalty/belong/database"
)

// freshness remembers when this node heard of each change (package changes) and when
// it first served each cluster run, so that a read from a replica can be held to
// what its answer depends on: a replica serves an answer only if it had caught up by
// the time the last change to any of the answer's keys was heard. A change heard
// later than a read started voids the answer in the cache as on the primary.
//
// While the change listener is down nothing heard can be trusted, so every read goes
// to the primary; once it is back, replicas serve again when they have caught up to
// that moment.
type freshness struct {
	keep time.Duration // changes older than this are older than any serving replica

	mu     sync.Mutex
	at     map[string]time.Time
	up     time.Time // when the listener came up; zero while it is down
	runs   map[int64]time.Time
	pruned time.Time
}

func newFreshness(keep time.Duration) *freshness {
	return &freshness{keep: keep, at: map[string]time.Time{}, runs: map[int64]time.Time{}, up: time.Now()}
}

// Changed implements changes.Subscriber.
func (f *freshness) Changed(keys []string) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		f.at[k] = now
	}
	if now.Sub(f.pruned) > f.keep {
		f.pruned = now
		for k, t := range f.at {
			if now.Sub(t) > f.keep {
				delete(f.at, k)
			}
		}
	}
}

// Reset implements changes.Subscriber.
func (f *freshness) Reset(up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if up {
		f.up = time.Now()
	} else {
		f.up = time.Time{}
	}
}

// since is how far a replica must have caught up to serve a read of run: ok is
// false when no replica may (the listener is down).
func (f *freshness) since(run int64) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up.IsZero() {
		return time.Time{}, false
	}
	seen, ok := f.runs[run]
	if !ok {
		seen = time.Now() // the run was published before this node loaded it
		if len(f.runs) > 16 {
			clear(f.runs)
		}
		f.runs[run] = seen
	}
	return later(seen, f.up), true
}

// changedAfter reports whether a change to any of keys was heard after t.
func (f *freshness) changedAfter(keys []string, t time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		if at, ok := f.at[k]; ok && at.After(t) {
			return true
		}
	}
	return false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// replicaTimeout bounds a read on a replica before it is tried on the primary.
const replicaTimeout = time.Second

// fromReplica runs read on a read replica caught up with everything this node knows
// the answer of run depends on, else on the primary. read returns the answer's
// change keys; when one of them changed after the replica had caught up, or the
// replica fails, read runs again on the primary, so a replica never answers with less
// than this node already knew.
func (s *server) fromReplica(ctx context.Context, run int64, read func(ctx context.Context, db database.DBTX) ([]string, error)) error {
	if s.replicas != nil {
		if since, ok := s.fresh.since(run); ok {
			if db, caughtUp, ok := s.replicas.Pick(since); ok {
				rctx, cancel := context.WithTimeout(ctx, replicaTimeout)
				deps, err := read(rctx, db)
				cancel()
				if err == nil && !s.fresh.changedAfter(deps, caughtUp) {
					s.metrics.ObserveRead("replica")
					return nil
				}
				if err != nil && ctx.Err() == nil {
					s.logger.WarnContext(ctx, "read replica failed; reading from the primary", slog.String("error", err.Error()))
				}
			}
		}
	}
	s.metrics.ObserveRead("primary")
	_, err := read(ctx, s.db)
	return err
}
