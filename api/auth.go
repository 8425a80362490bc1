package api

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/internal/logctx"
)

// limiter is a token bucket per key: Rate requests a second with bursts of Burst.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[int64]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// quota is what the RateLimit headers say after a request: the burst, the requests
// left in it, and the seconds until it is whole again.
type quota struct {
	limit, remaining, reset int
}

// headers sets the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
func (q quota) headers(c *gin.Context) {
	c.Header("RateLimit-Limit", strconv.Itoa(q.limit))
	c.Header("RateLimit-Remaining", strconv.Itoa(q.remaining))
	c.Header("RateLimit-Reset", strconv.Itoa(q.reset))
}

// allow takes a token for key id, or says how long until one is free; either way it
// returns the quota left.
func (l *limiter) allow(id int64, now time.Time) (bool, time.Duration, quota) {
	if l.rate <= 0 {
		return true, 0, quota{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[int64]*bucket{}
	}
	b, ok := l.buckets[id]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	ok = b.tokens >= 1
	if ok {
		b.tokens--
	}
	q := quota{limit: int(l.burst), remaining: int(b.tokens), reset: int(math.Ceil((l.burst - b.tokens) / l.rate))}
	if ok {
		return true, 0, q
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), q
}

const ctxKey = "belong.api_key"

// require admits requests that present a live key (Authorization: Bearer blg_...)
// carrying scope, within the key's rate limit: 401 without a valid key, 403 without
// the scope, 429 over the limit.
func (s *server) require(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		secret, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok || secret == "" {
			c.Header("WWW-Authenticate", `Bearer realm="belong"`)
			s.writeError(c, &apiError{http.StatusUnauthorized, Error{Code: "unauthorized",
				Message: "send an API key as Authorization: Bearer <key>"}})
			return
		}
		now := time.Now()
		key, err := s.keys.Verify(c.Request.Context(), secret)
		if errors.Is(err, apikey.ErrInvalid) {
			c.Header("WWW-Authenticate", `Bearer realm="belong", error="invalid_token"`)
			s.writeError(c, &apiError{http.StatusUnauthorized, Error{Code: "unauthorized", Message: err.Error()}})
			return
		}
		if err != nil {
			s.writeError(c, err)
			return
		}
		if scope != "" && !key.Allows(scope) {
			s.writeError(c, &apiError{http.StatusForbidden, Error{Code: "forbidden",
				Message: "this API key lacks the " + scope + " scope"}})
			return
		}
		ok, wait, q := s.limit.allow(key.ID, now)
		if s.limit.rate > 0 {
			q.headers(c)
		}
		if !ok {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.writeError(c, &apiError{http.StatusTooManyRequests, Error{Code: "rate_limited",
				Message: "too many requests for this API key; retry after the Retry-After seconds"}})
			return
		}
		c.Set(ctxKey, key)
		c.Request = c.Request.WithContext(logctx.With(c.Request.Context(), slog.String("key", key.Name+" ("+key.Prefix+")")))
		c.Next()
	}
}

// keyOf is the key require admitted.
func keyOf(c *gin.Context) apikey.Key {
	k, _ := c.Get(ctxKey)
	key, _ := k.(apikey.Key)
	return key
}
