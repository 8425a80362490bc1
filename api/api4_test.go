package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// raw sends a request with headers and returns the response with its body read.
func raw(t *testing.T, method, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

func TestKeysAndScopes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	srv := httptest.NewServer(api.New(api.Config{DB: pool, Service: newService(t, pool), Embedder: embeddings.NewLocal(), RateLimit: 1}))
	defer srv.Close()
	reader := newKey(t, pool, apikey.ScopeMatchRead)
	writer := newKey(t, pool, apikey.ScopeMembersWrite)

	for _, h := range [][]string{nil, {"Authorization", "Bearer nope"}, {"Authorization", "Basic abc"},
		{"Authorization", "Bearer blg_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}} {
		resp, body := raw(t, "GET", srv.URL+"/v1/communities", "", h...)
		if resp.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("headers %v: %d %s", h, resp.StatusCode, body)
		}
	}
	if resp, body := raw(t, "POST", srv.URL+"/v1/members:batch", `{"id":"m-1"}`, bearer(reader)...); resp.StatusCode != 403 || !strings.Contains(body, "members:write") {
		t.Fatalf("read key writing: %d %s", resp.StatusCode, body)
	}
	if resp, body := raw(t, "POST", srv.URL+"/v1/members:batch", `{"id":"m-1"}`, bearer(writer)...); resp.StatusCode != 200 {
		t.Fatalf("write key writing: %d %s", resp.StatusCode, body)
	}
	if resp, _ := raw(t, "GET", srv.URL+"/healthz", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz needs no key: %d", resp.StatusCode)
	}
	if resp, _ := raw(t, "GET", srv.URL+"/metrics", "", bearer(reader)...); resp.StatusCode != 403 {
		t.Fatalf("metrics with a read key: %d, want 403", resp.StatusCode)
	}

	// Rate limit 1/s with bursts of 2: the writer has spent one; the next goes
	// through, the one after is a 429 with Retry-After.
	statuses := []int{}
	var retry string
	for i := 0; i < 3; i++ {
		resp, _ := raw(t, "DELETE", srv.URL+"/v1/members/nobody", "", bearer(writer)...)
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 429 {
			retry = resp.Header.Get("Retry-After")
		}
	}
	if statuses[len(statuses)-1] != 429 || retry == "" {
		t.Fatalf("statuses %v, Retry-After %q: want a 429 with Retry-After once the burst is spent", statuses, retry)
	}

	// A revoked key stops working (this one was never cached by the server).
	k, secret, err := apikey.Create(ctx, pool, "doomed", []string{apikey.ScopeMatchRead})
	if err != nil {
		t.Fatal(err)
	}
	if err := apikey.Revoke(ctx, pool, k.Prefix); err != nil {
		t.Fatal(err)
	}
	if resp, _ := raw(t, "GET", srv.URL+"/v1/communities", "", bearer(secret)...); resp.StatusCode != 401 {
		t.Fatalf("revoked key: %d, want 401", resp.StatusCode)
	}
	var stored []byte
	if err := pool.QueryRow(ctx, "SELECT hash FROM api_keys WHERE id = $1", k.ID).Scan(&stored); err != nil || len(stored) != 32 || strings.Contains(string(stored), secret) {
		t.Fatalf("stored key material %x (err %v): want a 32-byte hash", stored, err)
	}
}

func TestETagAndIdempotency(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	url := f.url + "/v1/members/" + f.brand.Members[0].ID + "/communities"
	resp, body := raw(t, "GET", url, "", bearer(f.key)...)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("GET: %d etag %q cache-control %q", resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
	}
	resp, body2 := raw(t, "GET", url, "", append(bearer(f.key), "If-None-Match", etag)...)
	if resp.StatusCode != 304 || body2 != "" {
		t.Fatalf("conditional GET: %d %q, want 304 with no body", resp.StatusCode, body2)
	}
	if resp, _ := raw(t, "GET", url, "", append(bearer(f.key), "If-None-Match", `"stale"`)...); resp.StatusCode != 200 {
		t.Fatalf("stale ETag: %d, want 200", resp.StatusCode)
	}
	_ = body

	batch := `{"id":"m-idem","interests":["padel"]}`
	h := append(bearer(f.key), "Idempotency-Key", "import-42")
	r1, b1 := raw(t, "POST", f.url+"/v1/members:batch", batch, h...)
	r2, b2 := raw(t, "POST", f.url+"/v1/members:batch", batch, h...)
	if r1.StatusCode != 200 || r2.StatusCode != 200 || b1 != b2 || !strings.Contains(b1, `"inserted":1`) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s / %d %s (replayed %q): want the first answer back", r1.StatusCode, b1, r2.StatusCode, b2, r2.Header.Get("Idempotent-Replayed"))
	}
	if r, b := raw(t, "POST", f.url+"/v1/members:batch", `{"id":"m-other"}`, h...); r.StatusCode != 422 || !strings.Contains(b, "idempotency_key_reused") {
		t.Fatalf("same key, other body: %d %s", r.StatusCode, b)
	}
	if n := countRows(t, f.pool, "members WHERE id = 'm-other'"); n != 0 {
		t.Fatal("a rejected idempotent retry wrote its batch")
	}
}

func TestErasureLeavesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	var id string
	for _, m := range f.brand.Members {
		if m.Consent.Personalization {
			id = m.ID
			break
		}
	}
	for _, table := range []string{"members WHERE id", "member_events WHERE member_id", "member_vectors WHERE member_id", "memberships WHERE member_id"} {
		if countRows(t, f.pool, table+" = '"+id+"'") == 0 {
			t.Fatalf("fixture: %s has nothing for %s", table, id)
		}
	}
	if resp, body := raw(t, "DELETE", f.url+"/v1/members/"+id, "", bearer(f.key)...); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	for _, table := range []string{"members WHERE id", "member_events WHERE member_id", "member_vectors WHERE member_id", "memberships WHERE member_id"} {
		if n := countRows(t, f.pool, table+" = '"+id+"'"); n != 0 {
			t.Fatalf("after erasure %s still has %d rows for %s", table, n, id)
		}
	}
	if code, body := call(t, f.key, "DELETE", f.url+"/v1/members/"+id, ""); code != 404 || errCode(body) != "member_not_found" {
		t.Fatalf("second delete: %d %v", code, body)
	}
	if code, _ := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/communities", ""); code != 404 {
		t.Fatalf("erased member still answers: %d", code)
	}
}

func TestPeers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 1500)
	noCommunity := map[string]bool{}
	var id string
	for _, m := range f.brand.Members {
		if !m.Consent.Community || !m.Consent.Personalization {
			noCommunity[m.ID] = true
		} else if id == "" {
			id = m.ID
		}
	}
	code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?limit=10", "")
	peers, _ := body["peers"].([]any)
	if code != 200 || len(peers) != 10 {
		t.Fatalf("peers: %d %v", code, body)
	}
	last := 2.0
	for _, p := range peers {
		p := p.(map[string]any)
		pid := p["member_id"].(string)
		if pid == id || noCommunity[pid] {
			t.Fatalf("peer %s: the member itself or without consent", pid)
		}
		if s := p["score"].(float64); s > last {
			t.Fatalf("peers not ordered by score: %v", peers)
		} else {
			last = s
		}
		if name, _ := p["first_name"].(string); strings.Contains(name, " ") {
			t.Fatalf("peer name %q is more than a first name", name)
		}
	}
	// Filtered by a community: every peer is in it.
	_, ms, err := matching.MemberCommunities(ctx, f.pool, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	comm := ms[0].ID
	code, body = call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?limit=5&community="+comm, "")
	if code != 200 || len(body["peers"].([]any)) == 0 {
		t.Fatalf("peers in %s: %d %v", comm, code, body)
	}
	for _, p := range body["peers"].([]any) {
		pid := p.(map[string]any)["member_id"].(string)
		if n := countRows(t, f.pool, "memberships WHERE member_id = '"+pid+"' AND community_id = '"+comm+"' AND run_id = (SELECT run_id FROM current_run)"); n == 0 {
			t.Fatalf("peer %s is not in community %s", pid, comm)
		}
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?community=c-0", ""); code != 404 || errCode(body) != "community_not_found" {
		t.Fatalf("unknown community: %d %v", code, body)
	}

	// Recall@10 of the HNSW search against exact search, over 40 members.
	var hits, total int
	for _, m := range f.brand.Members[:120] {
		if noCommunity[m.ID] {
			continue
		}
		got, err := matching.Peers(ctx, f.pool, m.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		exact, err := matching.ExactPeers(ctx, f.pool, m.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, e := range exact {
			want[e] = true
		}
		for _, p := range got {
			if want[p.MemberID] {
				hits++
			}
		}
		total += len(exact)
		if total >= 400 {
			break
		}
	}
	recall := float64(hits) / float64(total)
	t.Logf("recall@10 %.3f over %d neighbours", recall, total)
	if recall < 0.9 {
		t.Fatalf("recall@10 %.3f, want ≥ 0.9", recall)
	}
}

// proxy forwards TCP connections to target until stopped; it can be started again on
// the same address, so a test can take "the database" away and bring it back.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *proxy) start(t *testing.T) {
	t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var (
		ln  net.Listener
		err error
	)
	for i := 0; i < 50; i++ { // the port may linger briefly after a stop
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestDatabaseOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := dbtest.SchemaURL(t)
	seed, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	key := newKey(t, seed, apikey.ScopeMatchRead)

	cfg, err := database.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port))}
	p.start(t)
	host, port, _ := net.SplitHostPort(p.addr)
	cfg.ConnConfig.Host = host
	fmt.Sscan(port, &cfg.ConnConfig.Port)
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := database.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := httptest.NewServer(api.New(api.Config{DB: pool, Service: newService(t, pool), Embedder: embeddings.NewLocal(), QueryTimeout: 2 * time.Second}))
	defer srv.Close()

	if resp, body := raw(t, "GET", srv.URL+"/v1/communities", "", bearer(key)...); resp.StatusCode != 503 || !strings.Contains(body, "no_cluster_run") {
		t.Fatalf("before the outage: %d %s", resp.StatusCode, body)
	}
	p.stop()
	resp, body := raw(t, "GET", srv.URL+"/v1/communities", "", bearer(key)...)
	if resp.StatusCode != 503 || !strings.Contains(body, "database_unavailable") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("during the outage: %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if resp, body := raw(t, "GET", srv.URL+"/readyz", ""); resp.StatusCode != 503 || !strings.Contains(body, "database_unavailable") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz during the outage: %d %s", resp.StatusCode, body)
	}
	if resp, _ := raw(t, "GET", srv.URL+"/healthz", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz during the outage: %d", resp.StatusCode)
	}
	p.start(t)
	defer p.stop()
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, body := raw(t, "GET", srv.URL+"/v1/communities", "", bearer(key)...)
		last = fmt.Sprint(resp.StatusCode, " ", body)
		if strings.Contains(body, "no_cluster_run") {
			return // the database answers again: recovered without a restart
		}
	}
	t.Fatalf("no recovery after the database came back; last answer %s", last)
}

func TestMetricsAndRequestIDs(t *testing.T) {
	t.Parallel()
	f := setup(t, 200)
	id := f.brand.Members[3].ID
	resp, _ := raw(t, "GET", f.url+"/v1/members/"+id+"/communities", "", append(bearer(f.key), "X-Request-Id", "trace-123")...)
	if resp.Header.Get("X-Request-Id") != "trace-123" {
		t.Fatalf("request id not echoed: %q", resp.Header.Get("X-Request-Id"))
	}
	if resp, _ := raw(t, "GET", f.url+"/healthz", ""); len(resp.Header.Get("X-Request-Id")) != 16 {
		t.Fatalf("no generated request id: %q", resp.Header.Get("X-Request-Id"))
	}
	resp, body := raw(t, "GET", f.url+"/metrics", "", bearer(f.key)...)
	if resp.StatusCode != 200 || !strings.Contains(body, `belong_http_requests_total{method="GET",route="/v1/members/:id/communities",status="200"} 1`) ||
		!strings.Contains(body, `belong_http_request_duration_seconds_bucket{method="GET",route="/v1/members/:id/communities",le="+Inf"} 1`) {
		t.Fatalf("metrics: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, id) {
		t.Fatal("metrics carry a raw member id")
	}
}

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsCarryRequestIDsAndNeverKeys(t *testing.T) {
	t.Parallel()
	pool := dbtest.Schema(t)
	logs := &syncBuf{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(api.New(api.Config{DB: pool, Service: newService(t, pool), Embedder: embeddings.NewLocal(), Logger: logger}))
	defer srv.Close()
	key := newKey(t, pool, apikey.ScopeAdmin)
	raw(t, "GET", srv.URL+"/v1/members/m-1/communities", "", append(bearer(key), "X-Request-Id", "req-77")...)
	raw(t, "GET", srv.URL+"/v1/communities", "", "Authorization", "Bearer "+key+"x")
	out := logs.String()
	if !strings.Contains(out, "request_id=req-77") || !strings.Contains(out, `route=/v1/members/:id/communities`) {
		t.Fatalf("log lacks the request id or route template:\n%s", out)
	}
	if strings.Contains(out, key) || strings.Contains(out, "blg_") || strings.Contains(out, "m-1") {
		t.Fatalf("a key or a raw member path reached the log:\n%s", out)
	}
}

func TestMatchNeverMixesModels(t *testing.T) {
	t.Parallel()
	f := setup(t, 200) // clustered with the hashing model
	other := embeddings.NewLocal().WithWeights(1, 0)
	srv := httptest.NewServer(api.New(api.Config{DB: f.pool, Service: newService(t, f.pool), Embedder: other}))
	defer srv.Close()
	code, body := call(t, f.key, "POST", srv.URL+"/v1/match", `{"profile":{"interests":["yoga"]}}`)
	if code != 503 || errCode(body) != "model_mismatch" {
		t.Fatalf("match with another model: %d %v", code, body)
	}
}
