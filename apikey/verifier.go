package apikey

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// CacheTTL is how long a verified key is trusted without asking the database again:
// a revoked key stops working within this time.
const CacheTTL = 10 * time.Second

// Verifier checks keys for the API and the console alike, remembering verified keys
// by the hash of their secret so that a burst of calls costs one database lookup per
// key, not one per call. The cache is per process: with several API nodes, a revoked
// key stops working on each of them within CacheTTL.
type Verifier struct {
	DB database.DBTX
	// Timeout bounds the database lookup; 5 s when zero.
	Timeout time.Duration

	mu      sync.Mutex
	entries map[[32]byte]cachedKey
	used    map[int64]time.Time // uses not yet written (FlushUses)
}

type cachedKey struct {
	key     Key
	expires time.Time
}

// Verify returns the live key whose secret this is, or ErrInvalid.
func (v *Verifier) Verify(ctx context.Context, secret string) (Key, error) {
	now := time.Now()
	sum := sha256.Sum256([]byte(secret))
	v.mu.Lock()
	e, ok := v.entries[sum]
	v.mu.Unlock()
	if ok && now.Before(e.expires) && (e.key.ExpiresAt == nil || now.Before(*e.key.ExpiresAt)) {
		v.noteUse(e.key.ID, now)
		return e.key, nil
	}
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	k, err := Verify(ctx, v.DB, secret)
	if err != nil {
		return Key{}, err
	}
	v.mu.Lock()
	if v.entries == nil || len(v.entries) > 10_000 {
		v.entries = map[[32]byte]cachedKey{}
	}
	v.entries[sum] = cachedKey{k, now.Add(CacheTTL)}
	v.mu.Unlock()
	v.noteUse(k.ID, now)
	return k, nil
}

func (v *Verifier) noteUse(id int64, at time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.used == nil {
		v.used = map[int64]time.Time{}
	}
	v.used[id] = at
}

// FlushUses writes when each key was last used, as noted since the last flush: one
// statement for all of them, off the request path (a request never writes for it).
func (v *Verifier) FlushUses(ctx context.Context) error {
	v.mu.Lock()
	used := v.used
	v.used = nil
	v.mu.Unlock()
	if len(used) == 0 {
		return nil
	}
	ids, ats := make([]int64, 0, len(used)), make([]time.Time, 0, len(used))
	for id, at := range used {
		ids, ats = append(ids, id), append(ats, at)
	}
	if err := storage.New(v.DB).NoteKeysUsed(ctx, storage.NoteKeysUsedParams{Ids: ids, Ats: ats}); err != nil {
		return fmt.Errorf("note API key uses: %w", storage.Translate(err, nil))
	}
	return nil
}

// RecordUses flushes uses every interval until ctx ends; the caller flushes the last
// ones (FlushUses) once it stops serving, while the database is still open.
func (v *Verifier) RecordUses(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := v.FlushUses(ctx); err != nil {
				logger.WarnContext(ctx, "api keys: last uses", slog.String("error", err.Error()))
			}
		}
	}
}
