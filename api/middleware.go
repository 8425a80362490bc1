package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// metrics counts requests and their latency by method, route template and status, and
// writes them in Prometheus' text format.
type metrics struct {
	mu       sync.Mutex
	requests map[[3]string]uint64 // method, route, status
	hist     map[[2]string]*histogram
}

var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

type histogram struct {
	counts []uint64 // per bucket, plus +Inf last
	sum    float64
	n      uint64
}

func (m *metrics) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	d := time.Since(start).Seconds()
	r := route(c)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests == nil {
		m.requests = map[[3]string]uint64{}
		m.hist = map[[2]string]*histogram{}
	}
	m.requests[[3]string{c.Request.Method, r, strconv.Itoa(c.Writer.Status())}]++
	h := m.hist[[2]string{c.Request.Method, r}]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
		m.hist[[2]string{c.Request.Method, r}] = h
	}
	i := sort.SearchFloat64s(latencyBuckets, d)
	h.counts[i]++
	h.sum += d
	h.n++
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP belong_http_requests_total HTTP requests by method, route template and status.")
	fmt.Fprintln(w, "# TYPE belong_http_requests_total counter")
	keys := make([][3]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return strings.Join(keys[i][:], " ") < strings.Join(keys[j][:], " ") })
	for _, k := range keys {
		fmt.Fprintf(w, "belong_http_requests_total{method=%q,route=%q,status=%q} %d\n", k[0], k[1], k[2], m.requests[k])
	}
	fmt.Fprintln(w, "# HELP belong_http_request_duration_seconds HTTP request latency by method and route template.")
	fmt.Fprintln(w, "# TYPE belong_http_request_duration_seconds histogram")
	hk := make([][2]string, 0, len(m.hist))
	for k := range m.hist {
		hk = append(hk, k)
	}
	sort.Slice(hk, func(i, j int) bool { return hk[i][0]+hk[i][1] < hk[j][0]+hk[j][1] })
	for _, k := range hk {
		h := m.hist[k]
		var cum uint64
		for i, b := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "belong_http_request_duration_seconds_bucket{method=%q,route=%q,le=%q} %d\n", k[0], k[1], strconv.FormatFloat(b, 'g', -1, 64), cum)
		}
		cum += h.counts[len(latencyBuckets)]
		fmt.Fprintf(w, "belong_http_request_duration_seconds_bucket{method=%q,route=%q,le=\"+Inf\"} %d\n", k[0], k[1], cum)
		fmt.Fprintf(w, "belong_http_request_duration_seconds_sum{method=%q,route=%q} %g\n", k[0], k[1], h.sum)
		fmt.Fprintf(w, "belong_http_request_duration_seconds_count{method=%q,route=%q} %d\n", k[0], k[1], h.n)
	}
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
