package apikey

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/belong-loyalty/belong/database"
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
	if ok && now.Before(e.expires) {
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
	return k, nil
}
