package api

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/internal/logctx"
)

// headers sets the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
func headers(c *gin.Context, q apikey.Quota) {
	c.Header("RateLimit-Limit", strconv.Itoa(q.Limit))
	c.Header("RateLimit-Remaining", strconv.Itoa(q.Remaining))
	c.Header("RateLimit-Reset", strconv.Itoa(q.Reset))
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
		ok, wait, q := s.limit.Allow(key.ID, now)
		if s.limit != nil {
			headers(c, q)
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
