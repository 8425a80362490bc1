package api

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
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
	defer cancel()
	var (
		storedRoute string
		storedHash  []byte
		status      int
		stored      []byte
	)
	err = s.db.QueryRow(ctx, `SELECT route, request_hash, status, body FROM idempotency_keys
		WHERE api_key_id = $1 AND key = $2`, apiKey, key).Scan(&storedRoute, &storedHash, &status, &stored)
	switch {
	case err == nil:
		if storedRoute != route(c) || !bytes.Equal(storedHash, sum[:]) {
			s.writeError(c, &apiError{http.StatusUnprocessableEntity, Error{Code: "idempotency_key_reused",
				Message: "this Idempotency-Key was used for a different request"}})
			return
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(status, "application/json; charset=utf-8", stored)
		c.Abort()
		return
	case !errors.Is(err, pgx.ErrNoRows):
		s.writeError(c, err)
		return
	}
	w := &capture{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	if w.Status() >= 500 {
		return
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO idempotency_keys (api_key_id, key, route, request_hash, status, body)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, apiKey, key, route(c), sum[:], w.Status(), w.body.Bytes()); err != nil {
		s.logger.WarnContext(ctx, "idempotency key not stored", "request_id", requestIDOf(c), "error", err.Error())
	}
}
