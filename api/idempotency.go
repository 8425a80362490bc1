package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/apikey"
)

var idempotencyKeyRe = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)

type capture struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *capture) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// idempotent makes a batch POST safe to retry: with an Idempotency-Key header, the
// first request with a key claims it (per API key) before it runs, and its answer
// (status and body) is stored when it ends. A retry with the same key and body gets
// that answer back without the batch being applied again; one that arrives while the
// first is still running gets 409 idempotency_key_in_use (retry after a second); the
// same key with a different body or route is a 422. A 5xx answer releases the key, so
// the request can be retried.
func (s *server) idempotent(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		c.Next()
		return
	}
	if !idempotencyKeyRe.MatchString(key) {
		s.writeError(c, badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 200 printable ASCII characters"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBatchBody))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	// The path is part of what the key stands for: one key on another recognition's
	// deliveries is another request, not a replay.
	sum := sha256.Sum256(append([]byte(c.Request.URL.Path+"\n"), body...))
	apiKey := keyOf(c).ID
	// The claim finishes even if the client hangs up meanwhile: cancelled halfway, it
	// could commit on the server while this request never learns so, leaving the key
	// claimed by nobody (the release below would never run).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.timeout)
	claim, stored, err := apikey.ClaimIdempotency(ctx, s.db, apiKey, key, route(c), sum[:])
	cancel()
	if err != nil {
		s.writeError(c, err)
		return
	}
	if claim != apikey.Claimed && (stored.Route != route(c) || !bytes.Equal(stored.RequestHash, sum[:])) {
		s.writeError(c, &apiError{http.StatusUnprocessableEntity, Error{Code: "idempotency_key_reused",
			Message: "this Idempotency-Key was used for a different request"}})
		return
	}
	switch claim {
	case apikey.InProgress:
		c.Header("Retry-After", "1")
		s.writeError(c, &apiError{http.StatusConflict, Error{Code: "idempotency_key_in_use",
			Message: "a request with this Idempotency-Key is still running; retry it in a moment"}})
		return
	case apikey.Answered:
		c.Header("Idempotent-Replayed", "true")
		c.Data(stored.Status, "application/json; charset=utf-8", stored.Body)
		c.Abort()
		return
	}
	w := &capture{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	// A fresh deadline: the batch may have used most of its own (up to BatchTimeout),
	// and an answer that is not stored would let a retry apply the batch again.
	ctx, cancel = context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.timeout)
	defer cancel()
	// A 5xx, or a client that went away before its answer (499: the batch rolled
	// back with the request's context), frees the key for the retry.
	if w.Status() >= 500 || w.Status() == 499 {
		err = apikey.ReleaseIdempotency(ctx, s.db, apiKey, key)
	} else {
		err = apikey.FinishIdempotency(ctx, s.db, apiKey, key, w.Status(), append([]byte{}, w.body.Bytes()...))
	}
	if err != nil {
		s.logger.WarnContext(ctx, "idempotency key not stored", "request_id", requestIDOf(c), "error", err.Error())
	}
}
