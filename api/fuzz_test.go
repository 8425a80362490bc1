package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/service"
)

// fuzzRoutes are the API's inputs: a method and a path template whose {} is the
// fuzzed path segment; the fuzzed body and query go with every one.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/members:batch"},
	{"POST", "/v1/events:batch"},
	{"POST", "/v1/match"},
	{"POST", "/v1/content/drafts"},
	{"PUT", "/v1/content/drafts/{}"},
	{"POST", "/v1/content/drafts:approve"},
	{"POST", "/v1/content/drafts/{}/reject"},
	{"POST", "/v1/pilots"},
	{"POST", "/v1/feedback"},
	{"GET", "/v1/members/{}/communities"},
	{"GET", "/v1/members/{}/peers"},
	{"GET", "/v1/members/{}/moment"},
	{"GET", "/v1/members/{}/content"},
	{"GET", "/v1/communities/{}"},
	{"GET", "/v1/communities/{}/content"},
	{"GET", "/v1/cluster-runs/{}"},
	{"GET", "/v1/content/jobs/{}"},
	{"GET", "/v1/content/drafts"},
	{"GET", "/v1/trends"},
	{"DELETE", "/v1/members/{}"},
	{"POST", "/v1/recognitions/{}/deliveries"},
	{"POST", "/v1/content/drafts/{}/withdraw"},
	{"POST", "/v1/webhook-endpoints"},
	{"PATCH", "/v1/webhook-endpoints/{}"},
	{"POST", "/v1/webhook-endpoints/{}/rotate-secret"},
	{"POST", "/v1/webhook-endpoints/{}/replay"},
	{"GET", "/v1/webhook-endpoints/{}/deliveries"},
	{"GET", "/v1/exports/members"},
}

// FuzzAPIRequests sends fuzzed path segments, query strings and bodies to every input
// of the real router over a real (empty) schema: whatever arrives, the answer is never
// a 500. make test runs it for a bounded time.
func FuzzAPIRequests(f *testing.F) {
	ctx := context.Background()
	pool := dbtest.Schema(f)
	queue, err := jobs.NewInserter(pool, jobs.Config{})
	if err != nil {
		f.Fatal(err)
	}
	svc := &service.Service{DB: pool, Queue: queue,
		Embedder: func(context.Context, database.DBTX) (embeddings.Embedder, error) { return embeddings.NewLocal(), nil }}
	router := api.New(api.Config{DB: pool, Embedder: embeddings.NewLocal(), Service: svc})
	_, key, err := apikey.Create(ctx, pool, "fuzz", []string{apikey.ScopeAdmin})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), "m-1", "", `{"id":"m-1","name":"Ana","interests":["yoga"],"consent":{"personalization":true}}`)
	f.Add(uint8(1), "m-1", "", `{"id":"e-1","member_id":"m-1","type":"class_completed","at":"2026-11-01T07:00:00Z","props":{"a":"\u0000"}}`)
	f.Add(uint8(2), "", "", `{"profile":{"interests":["trail running"]},"limit":3}`)
	f.Add(uint8(3), "", "", `{"kind":"recognition","member_id":"m-1","occasion":"streak"}`)
	f.Add(uint8(4), "1", "", `{"body":{"title":7}}`)
	f.Add(uint8(5), "", "", `{"ids":["1","x"]}`)
	f.Add(uint8(9), "%00", "limit=0", "")
	f.Add(uint8(11), "m-1", "local_time=2026-11-01T00:00:00Z&channel=%FF", "")
	f.Add(uint8(15), "99999999999999999999", "", "")
	f.Add(uint8(17), "", "kind=poem&status=x&limit=9999", "")
	f.Fuzz(func(t *testing.T, route uint8, segment, query, body string) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		target := strings.ReplaceAll(r.path, "{}", segment)
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(r.method, "http://belong.test"+target, strings.NewReader(body))
		if err != nil {
			return // not a request an HTTP client could send
		}
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		// 503 is an answer (no cluster run yet, in this empty schema); any other 5xx
		// is a crash or an unmapped error.
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with body %q: %d %s", r.method, target, body, rec.Code, rec.Body.String())
		}
	})
}
