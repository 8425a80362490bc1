package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Replicas sends reads to PostgreSQL streaming replicas (hot standbys) that are
// caught up far enough, and to the primary otherwise.
//
// How far a replica is caught up is measured, not assumed: every Interval the
// primary's WAL position is sampled, and a replica whose replay position has passed
// the sample taken at time T holds every transaction committed before T. That T is
// the replica's caught-up time, and now − T its lag. A reader that must see a write
// it knows of (a change heard at time S) asks for a replica caught up to S; a replica
// that lags more than MaxLag, fails to answer or is not in recovery is skipped until
// it is back.
type Replicas struct {
	primary  *pgxpool.Pool
	maxLag   time.Duration // how far behind a replica may fall and still serve
	interval time.Duration
	logger   *slog.Logger
	reps     []*replica
	next     atomic.Uint64

	mu      sync.Mutex
	samples []walSample // the primary's positions, oldest first
}

type walSample struct {
	at  time.Time
	lsn uint64
}

type replica struct {
	name string
	pool *pgxpool.Pool

	mu       sync.Mutex
	up       bool
	caughtUp time.Time
	err      string
}

// ReplicaStatus is what the monitor last learned of a replica.
type ReplicaStatus struct {
	Name string
	// Serving is whether reads go to it: it answers, is in recovery, and lags at
	// most MaxLag.
	Serving bool
	// Lag is how far behind the primary it is (the time since its caught-up time).
	Lag time.Duration
	// Error is why it is not serving, when it answers not at all.
	Error string
}

// OpenReplicas prepares pools for the replicas at urls (each configured by
// configure, as the primary's are) without connecting: a replica that is down at
// start is skipped until it answers. Run monitors them.
func OpenReplicas(primary *pgxpool.Pool, urls []string, maxLag, interval time.Duration,
	configure func(*pgxpool.Config), logger *slog.Logger) (*Replicas, error) {
	r := &Replicas{primary: primary, maxLag: maxLag, interval: interval, logger: logger}
	for i, u := range urls {
		cfg, err := ParseConfig(u)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		if configure != nil {
			configure(cfg)
		}
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		r.reps = append(r.reps, &replica{name: strconv.Itoa(i+1) + " (" + cfg.ConnConfig.Host + ":" +
			strconv.Itoa(int(cfg.ConnConfig.Port)) + ")", pool: pool})
	}
	return r, nil
}

// Close closes the replicas' pools (not the primary's).
func (r *Replicas) Close() {
	if r == nil {
		return
	}
	for _, rep := range r.reps {
		rep.pool.Close()
	}
}

// Pick returns a serving replica caught up to since (round robin among them) and its
// caught-up time, or the primary and ok false when none is.
func (r *Replicas) Pick(since time.Time) (db *pgxpool.Pool, caughtUp time.Time, ok bool) {
	if r == nil {
		return nil, time.Time{}, false
	}
	now := time.Now()
	start := r.next.Add(1)
	for i := range r.reps {
		rep := r.reps[(start+uint64(i))%uint64(len(r.reps))]
		rep.mu.Lock()
		up, cu := rep.up, rep.caughtUp
		rep.mu.Unlock()
		if up && now.Sub(cu) <= r.maxLag && !cu.Before(since) {
			return rep.pool, cu, true
		}
	}
	return r.primary, time.Time{}, false
}

// Status is what the monitor last learned of each replica.
func (r *Replicas) Status() []ReplicaStatus {
	if r == nil {
		return nil
	}
	now := time.Now()
	out := make([]ReplicaStatus, len(r.reps))
	for i, rep := range r.reps {
		rep.mu.Lock()
		lag := now.Sub(rep.caughtUp)
		if rep.caughtUp.IsZero() {
			lag = 0
		}
		out[i] = ReplicaStatus{Name: rep.name, Serving: rep.up && lag <= r.maxLag, Lag: lag, Error: rep.err}
		rep.mu.Unlock()
	}
	return out
}

// Run measures every replica each interval until ctx ends.
func (r *Replicas) Run(ctx context.Context) {
	if r == nil || len(r.reps) == 0 {
		return
	}
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.measure(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// measure samples the primary's position, then each replica's replay position.
func (r *Replicas) measure(ctx context.Context) {
	timeout := max(r.interval, time.Second)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	var pos string
	at := time.Now()
	err := r.primary.QueryRow(pctx, "SELECT pg_current_wal_lsn()::text").Scan(&pos)
	cancel()
	if err == nil {
		lsn, perr := parseLSN(pos)
		if perr == nil {
			r.mu.Lock()
			r.samples = append(r.samples, walSample{at, lsn})
			// Samples older than the lag a replica may have are of no more use.
			for len(r.samples) > 2 && time.Since(r.samples[1].at) > 2*r.maxLag {
				r.samples = r.samples[1:]
			}
			r.mu.Unlock()
		}
	}
	for _, rep := range r.reps {
		r.measureReplica(ctx, rep, timeout)
	}
}

func (r *Replicas) measureReplica(ctx context.Context, rep *replica, timeout time.Duration) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var recovering bool
	var pos *string
	err := rep.pool.QueryRow(rctx, "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text").Scan(&recovering, &pos)
	if err == nil && (!recovering || pos == nil) {
		err = errors.New("not a streaming replica (pg_is_in_recovery is false or nothing replayed)")
	}
	var lsn uint64
	if err == nil {
		lsn, err = parseLSN(*pos)
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	was := rep.up
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		rep.up, rep.err = false, err.Error()
		if was {
			r.logger.WarnContext(ctx, "read replica skipped", slog.String("replica", rep.name), slog.String("error", err.Error()))
		}
		return
	}
	r.mu.Lock()
	for i := len(r.samples) - 1; i >= 0; i-- {
		if r.samples[i].lsn <= lsn {
			if r.samples[i].at.After(rep.caughtUp) {
				rep.caughtUp = r.samples[i].at
			}
			break
		}
	}
	r.mu.Unlock()
	rep.up, rep.err = true, ""
	if !was {
		r.logger.InfoContext(ctx, "read replica serving", slog.String("replica", rep.name))
	}
}

// parseLSN reads PostgreSQL's pg_lsn text form, two hexadecimal halves: 16/B374D848.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("not a WAL position: %q", s)
	}
	return h<<32 | l, nil
}
