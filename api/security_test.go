package api_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

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
	// Every answer says the quota: RateLimit-Limit (the burst), -Remaining, -Reset.
	statuses, remaining := []int{}, []string{}
	var retry string
	for i := 0; i < 3; i++ {
		resp, _ := raw(t, "DELETE", srv.URL+"/v1/members/nobody", "", bearer(writer)...)
		statuses, remaining = append(statuses, resp.StatusCode), append(remaining, resp.Header.Get("RateLimit-Remaining"))
		if resp.Header.Get("RateLimit-Limit") != "2" || resp.Header.Get("RateLimit-Reset") == "" {
			t.Fatalf("answer %d: RateLimit-Limit %q, -Reset %q", i, resp.Header.Get("RateLimit-Limit"), resp.Header.Get("RateLimit-Reset"))
		}
		if resp.StatusCode == 429 {
			retry = resp.Header.Get("Retry-After")
		}
	}
	if statuses[len(statuses)-1] != 429 || retry == "" || remaining[len(remaining)-1] != "0" {
		t.Fatalf("statuses %v, remaining %v, Retry-After %q: want a 429 with Retry-After once the burst is spent", statuses, remaining, retry)
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
	prefix := strings.Split(key, "_")[1]
	if !strings.Contains(out, "request_id=req-77") || !strings.Contains(out, `route=/v1/members/:id/communities`) ||
		!strings.Contains(out, "("+prefix+")") {
		t.Fatalf("log lacks the request id, route template or the key's name and prefix:\n%s", out)
	}
	if strings.Contains(out, key) || strings.Contains(out, "blg_") || strings.Contains(out, "m-1") {
		t.Fatalf("a key or a raw member path reached the log:\n%s", out)
	}
}
