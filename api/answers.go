package api

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// answers caches the serialized answers of the real-time reads (a member's
// communities, peers and moment), keyed by the run and the request, so that the
// repeats journey platforms send within their own cache window cost no database work.
// Each answer lists what it depends on (changes keys: the member, each peer, all
// content); an answer is served only if none of them changed after it was read. The
// run id in the key retires every answer of a run when the next is published.
//
// Invalidation is by tickets rather than deletion: a request takes a ticket before
// it reads, and a change records the ticket count at which it happened, so an answer
// read before a change that lands while it is being computed is never served.
type answers struct {
	lru *lru.Cache[string, answer] // least recently used out first; expiry checked on read
	ttl time.Duration

	mu      sync.Mutex
	tickets uint64
	changed map[string]change // key → when it last changed
	reset   uint64            // ticket of the last reset: older answers are void
	up      bool              // false while changes may be missed: nothing is cached
	purged  time.Time         // when changes older than the TTL were last dropped
}

type answer struct {
	ticket uint64
	at     time.Time
	deps   []string
	body   []byte
	etag   string
}

type change struct {
	ticket uint64
	at     time.Time
}

// newAnswers returns a cache of size answers for ttl; nil (no caching) when either
// is zero.
func newAnswers(size int, ttl time.Duration) *answers {
	if size <= 0 || ttl <= 0 {
		return nil
	}
	c, err := lru.New[string, answer](size)
	if err != nil {
		panic(err) // only for a size below one
	}
	return &answers{lru: c, ttl: ttl, changed: map[string]change{}, up: true}
}

// ticket starts a read: 0 when nothing may be cached.
func (a *answers) ticket() uint64 {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.up {
		return 0
	}
	a.tickets++
	return a.tickets
}

// get returns the answer for key if nothing it depends on changed since it was read.
func (a *answers) get(key string) (answer, bool) {
	if a == nil {
		return answer{}, false
	}
	v, ok := a.lru.Get(key)
	if !ok {
		return answer{}, false
	}
	if time.Since(v.at) > a.ttl {
		a.lru.Remove(key)
		return answer{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.up || v.ticket <= a.reset {
		return answer{}, false
	}
	for _, d := range v.deps {
		if c, ok := a.changed[d]; ok && c.ticket >= v.ticket {
			return answer{}, false
		}
	}
	return v, true
}

// put stores an answer read under ticket t (0: not cached).
func (a *answers) put(key string, t uint64, v answer) {
	if a == nil || t == 0 {
		return
	}
	v.ticket, v.at = t, time.Now()
	a.lru.Add(key, v)
}

// Changed implements changes.Subscriber.
func (a *answers) Changed(keys []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tickets++
	now := time.Now()
	for _, k := range keys {
		a.changed[k] = change{a.tickets, now}
	}
	// Changes older than the TTL outlive every answer they could void: drop them, at
	// most once per TTL (a sweep under the lock is as long as the map).
	if len(a.changed) > 2*a.lru.Len()+1024 && now.Sub(a.purged) > a.ttl {
		a.purged = now
		for k, c := range a.changed {
			if now.Sub(c.at) > a.ttl {
				delete(a.changed, k)
			}
		}
	}
}

// Reset implements changes.Subscriber.
func (a *answers) Reset(up bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tickets++
	a.reset, a.up = a.tickets, up
	clear(a.changed)
}
