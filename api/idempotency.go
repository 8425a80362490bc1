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
// first answer (status and body) is stored per API key, and a retry with the same key
// and the same body gets it back without the batch being applied again. The same key
// with a different body is a 422. Answers of 5xx are not stored, so they can be retried.
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
	sum := sha256.Sum256(body)
	apiKey := keyOf(c).ID
	ctx, cancel := s.ctx(c)
	stored, found, err := apikey.LookupIdempotency(ctx, s.db, apiKey, key)
	cancel()
	switch {
	case err != nil:
		s.writeError(c, err)
		return
	case found:
		if stored.Route != route(c) || !bytes.Equal(stored.RequestHash, sum[:]) {
			s.writeError(c, &apiError{http.StatusUnprocessableEntity, Error{Code: "idempotency_key_reused",
				Message: "this Idempotency-Key was used for a different request"}})
			return
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(stored.Status, "application/json; charset=utf-8", stored.Body)
		c.Abort()
		return
	}
	w := &capture{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	if w.Status() >= 500 {
		return
	}
	answer := apikey.Answer{Route: route(c), RequestHash: sum[:], Status: w.Status(), Body: w.body.Bytes()}
	// A fresh deadline: the batch may have used most of its own (up to BatchTimeout),
	// and an answer that is not stored would let a retry apply the batch again.
	ctx, cancel = context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.timeout)
	defer cancel()
	if err := apikey.StoreIdempotency(ctx, s.db, apiKey, key, answer); err != nil {
		s.logger.WarnContext(ctx, "idempotency key not stored", "request_id", requestIDOf(c), "error", err.Error())
	}
}
