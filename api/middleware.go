package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/internal/logctx"
)

// cacheControl lets journey platforms cache answers briefly: communities change at
// most nightly, and ETag revalidation makes a stale check cheap.
const cacheControl = "private, max-age=60"

// cached answers 200 with v as JSON, an ETag of the body and Cache-Control, or 304
// when the client's If-None-Match already names that ETag.
func (s *server) cached(c *gin.Context, v any) {
	s.answer(c, "", 0, nil, v)
}

// fromCache answers from the answer cache if it holds key. Otherwise it returns the
// ticket to keep the fresh answer under (answer).
func (s *server) fromCache(c *gin.Context, key string) (uint64, bool) {
	if a, ok := s.answers.get(key); ok {
		s.writeTagged(c, a.body, a.etag)
		return 0, true
	}
	return s.answers.ticket(), false
}

// answer writes v as JSON with an ETag (as cached does) and keeps it in the answer
// cache under key and ticket t, voided when any of deps changes.
func (s *server) answer(c *gin.Context, key string, t uint64, deps []string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeError(c, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	s.answers.put(key, t, answer{deps: deps, body: body, etag: etag})
	s.writeTagged(c, body, etag)
}

// writeTagged writes a JSON body with its ETag, or 304 when the client has it.
func (s *server) writeTagged(c *gin.Context, body []byte, etag string) {
	c.Header("ETag", etag)
	c.Header("Cache-Control", cacheControl)
	for _, t := range strings.Split(c.GetHeader("If-None-Match"), ",") {
		if t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/")); t == etag || t == "*" {
			c.Status(http.StatusNotModified)
			return
		}
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID gives every request an id (the caller's X-Request-Id when it is sane),
// echoes it in the response and puts it on every log line of the request.
func (s *server) requestID(c *gin.Context) {
	// No response is ever to be sniffed into another type (a JSON answer rendered as
	// HTML, say): the console's pages ride on this engine too.
	c.Header("X-Content-Type-Options", "nosniff")
	id := c.GetHeader("X-Request-Id")
	if !requestIDRe.MatchString(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Header("X-Request-Id", id)
	c.Set("request_id", id)
	// Every line logged while serving it, in any layer, names the request and route.
	c.Request = c.Request.WithContext(logctx.With(c.Request.Context(), slog.String("request_id", id), slog.String("route", route(c))))
	c.Next()
}

func requestIDOf(c *gin.Context) string { return c.GetString("request_id") }

// accessLog logs each request once, by route template, with its id and the key's
// name (from the context); never headers (keys live there) and never bodies.
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	level := slog.LevelInfo
	if c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/readyz" || c.Request.URL.Path == "/metrics" {
		level = slog.LevelDebug
	}
	s.logger.Log(c.Request.Context(), level, "http request", slog.String("method", c.Request.Method),
		slog.Int("status", c.Writer.Status()), slog.Duration("duration", time.Since(start)))
}

// route is the matched route template, never the raw path (ids would explode label
// cardinality and leak member ids into metrics).
func route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// observe counts each request in the metrics, by route template.
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.metrics.ObserveRequest(c.Request.Method, route(c), c.Writer.Status(), time.Since(start))
}

// cleanText refuses a request whose path parameters or query string hold a NUL byte,
// another control character or invalid UTF-8 (%00, %FF): no id or filter is spelled
// so, and PostgreSQL could not even compare it.
func (s *server) cleanText(c *gin.Context) {
	bad := func(v string) bool {
		return !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0
	}
	for _, p := range c.Params {
		if bad(p.Value) {
			s.writeError(c, badRequest("invalid_text", "the path holds a control character or invalid UTF-8"))
			return
		}
	}
	for k, vs := range c.Request.URL.Query() {
		for _, v := range append(vs, k) {
			if bad(v) {
				s.writeError(c, badRequest("invalid_text", "the query string holds a control character or invalid UTF-8"))
				return
			}
		}
	}
	c.Next()
}
