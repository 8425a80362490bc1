package apikey

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/time/rate"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// Limiter is each key's rate limit: a token bucket of Rate requests a second with
// bursts of twice that (golang.org/x/time/rate), shared by every API node.
//
// Sharing: each node counts what it admitted per key, and Share writes those counts
// to PostgreSQL several times a second and reads every other live node's; what the
// others admitted since the last read is taken from this node's buckets. So a key
// that spends its quota on one node is limited on all of them within one share
// interval, and over any longer stretch the whole fleet admits Rate a second. What
// is per node by design: a bucket starts full on the node where a key is first seen,
// so a key can burst once on each node, and for one interval each node can admit
// what the others did not yet report. Without Share (one process, or tests) the
// buckets are this process's alone. Nothing is written on a request.
type Limiter struct {
	rate  float64
	burst int

	mu      sync.Mutex
	buckets map[int64]*rate.Limiter
	served  map[int64]int64   // admitted here per key since start (written by Share)
	seen    map[nodeKey]int64 // the other nodes' counts as last read
	node    pgtype.UUID
}

type nodeKey struct {
	node [16]byte
	key  int64
}

// Quota is what the RateLimit headers say after a request: the burst, the requests
// left in it, and the seconds until it is whole again.
type Quota struct {
	Limit, Remaining, Reset int
}

// NewLimiter returns a limiter of perSecond requests per key (bursts of twice that);
// nil, which admits everything, when perSecond is not positive.
func NewLimiter(perSecond float64) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	l := &Limiter{rate: perSecond, burst: max(1, int(math.Round(2*perSecond))),
		buckets: map[int64]*rate.Limiter{}, served: map[int64]int64{}, seen: map[nodeKey]int64{}}
	_, _ = rand.Read(l.node.Bytes[:])
	l.node.Valid = true
	return l
}

// Allow takes a token for key id at now, or says how long until one is free; either
// way it returns the quota left. A nil Limiter allows everything.
func (l *Limiter) Allow(id int64, now time.Time) (bool, time.Duration, Quota) {
	if l == nil {
		return true, 0, Quota{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(id)
	ok := b.AllowN(now, 1)
	if ok {
		l.served[id]++
	}
	tokens := b.TokensAt(now)
	q := Quota{Limit: l.burst, Remaining: max(0, int(tokens)),
		Reset: int(math.Ceil((float64(l.burst) - tokens) / l.rate))}
	if ok {
		return true, 0, q
	}
	return false, time.Duration((1 - tokens) / l.rate * float64(time.Second)), q
}

func (l *Limiter) bucket(id int64) *rate.Limiter {
	b, ok := l.buckets[id]
	if !ok {
		b = rate.NewLimiter(rate.Limit(l.rate), l.burst) // full at first sight
		l.buckets[id] = b
	}
	return b
}

// spend takes n tokens from key id's bucket, into debt if need be: requests another
// node admitted. A key never seen here has nothing to take from yet.
func (l *Limiter) spend(id int64, n int64, now time.Time) {
	b, ok := l.buckets[id]
	if !ok || n <= 0 {
		return
	}
	for n > 0 { // ReserveN refuses more than the burst at once
		k := min(n, int64(l.burst))
		b.ReserveN(now, int(k))
		n -= k
	}
	// Nodes that each spent a burst before hearing of the others leave a debt; past
	// one burst it would only make this node wait longer than the quota asks.
	if b.TokensAt(now) < -float64(l.burst) {
		b = rate.NewLimiter(rate.Limit(l.rate), l.burst)
		b.ReserveN(now, l.burst)
		b.ReserveN(now, l.burst)
		l.buckets[id] = b
	}
}

// Share writes this node's counts and takes the others' from its buckets, every
// interval until ctx ends (and drops the rows of nodes gone for ten minutes, every
// minute). A failed round is logged and the next one catches up: counts are totals.
func (l *Limiter) Share(ctx context.Context, db database.DBTX, interval time.Duration, logger *slog.Logger) {
	if l == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := l.ShareOnce(ctx, db); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "rate limits: share with other nodes", slog.String("error", err.Error()))
			}
			if now.Sub(pruned) > time.Minute {
				pruned = now
				if _, err := storage.New(db).PruneKeyUsage(ctx); err != nil && ctx.Err() == nil {
					logger.WarnContext(ctx, "rate limits: prune", slog.String("error", err.Error()))
				}
			}
		}
	}
}

// ShareOnce is one round of Share.
func (l *Limiter) ShareOnce(ctx context.Context, db database.DBTX) error {
	l.mu.Lock()
	ids, served := make([]int64, 0, len(l.served)), make([]int64, 0, len(l.served))
	for id, n := range l.served {
		ids, served = append(ids, id), append(served, n)
	}
	l.mu.Unlock()
	rows, err := storage.New(db).ShareKeyUsage(ctx, storage.ShareKeyUsageParams{Node: l.node, Ids: ids, Served: served})
	if err != nil {
		return fmt.Errorf("share key usage: %w", storage.Translate(err, nil))
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := make(map[nodeKey]int64, len(rows)) // nodes gone quiet drop out
	for _, r := range rows {
		k := nodeKey{r.Node.Bytes, r.ApiKeyID}
		seen[k] = r.Served
		if last, known := l.seen[k]; known { // a node first heard of counts from now on
			l.spend(r.ApiKeyID, r.Served-last, now)
		}
	}
	l.seen = seen
	return nil
}
