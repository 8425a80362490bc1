package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/accounts"
	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/console"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/service"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// fixture is the setup bundle of the API tests: the real router and workers over a
// fresh schema, an admin key, and optionally a clustered demo brand.
type fixture struct {
	url   string
	key   string // an admin key
	admin person // an admin's console account
	pool  *pgxpool.Pool
	brand demo.Brand
	svc   *service.Service
	queue *river.Client[pgx.Tx]
}

// settle waits until the workers have done every job queued so far.
func (f fixture) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := jobs.WaitIdle(ctx, f.queue); err != nil {
		t.Fatalf("jobs did not settle: %v", err)
	}
}

// newKey creates a key with the given scopes and returns its secret.
func newKey(t *testing.T, pool *pgxpool.Pool, scopes ...string) string {
	t.Helper()
	_, secret, err := apikey.Create(context.Background(), pool, "test", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// setup starts the real API over a fresh schema; with members > 0 it loads, embeds
// and clusters a demo brand first.
func setup(t *testing.T, n int) fixture {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	f := fixture{pool: pool}
	if n > 0 {
		now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		f.brand = demo.Generate(demo.Config{Members: n, Seed: 2, Now: now, NoConsentShare: 0.1})
		if _, err := members.Upsert(ctx, pool, f.brand.Members); err != nil {
			t.Fatal(err)
		}
		if _, err := members.InsertEvents(ctx, pool, f.brand.Events, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := (&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal(), Now: func() time.Time { return now }}).RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = newService(t, pool)
	f.queue = f.svc.Queue.(*river.Client[pgx.Tx])
	keys := &apikey.Verifier{DB: pool}
	router := api.New(api.Config{DB: pool, Embedder: embeddings.NewLocal(), Service: f.svc, Keys: keys})
	console.Register(router, console.Config{DB: pool, Service: f.svc})
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.key = newKey(t, pool, apikey.ScopeAdmin)
	f.admin = newPerson(t, pool, accounts.RoleAdmin)
	return f
}

// requestDraft posts a draft request, waits for the workers to draft it, and returns
// the draft. It fails the test unless the request is accepted (202 with the job).
func requestDraft(t *testing.T, f fixture, key, body string) map[string]any {
	t.Helper()
	code, job := call(t, key, "POST", f.url+"/v1/content/drafts", body)
	if code != 202 || job["id"] == nil || job["state"] == "discarded" || job["state"] == "cancelled" {
		t.Fatalf("draft request %s: %d %v", body, code, job)
	}
	f.settle(t)
	code, job = call(t, key, "GET", f.url+"/v1/content/jobs/"+job["id"].(string), "")
	if code != 200 || job["state"] != "completed" || job["draft_id"] == nil {
		t.Fatalf("draft job: %d %v", code, job)
	}
	code, d := call(t, key, "GET", f.url+"/v1/content/drafts/"+job["draft_id"].(string), "")
	if code != 200 {
		t.Fatalf("drafted: %d %v", code, d)
	}
	return d["draft"].(map[string]any)
}

// newService returns the use cases over pool with real workers running their jobs
// until the test ends.
func newService(t *testing.T, pool *pgxpool.Pool) *service.Service {
	t.Helper()
	svc := &service.Service{DB: pool, Embedder: func(context.Context, database.DBTX) (embeddings.Embedder, error) {
		return embeddings.NewLocal(), nil
	}}
	queue, err := jobs.New(pool, svc, jobs.Config{NoPeriodic: true})
	if err != nil {
		t.Fatal(err)
	}
	svc.Queue = queue
	if err := queue.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := queue.Stop(context.Background()); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})
	return svc
}

// call sends a request with an API key and decodes the JSON answer into a map.
func call(t *testing.T, key, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkContract(t, resp.Request, resp, raw)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, body %q is not a JSON object", method, url, resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: content type %q", method, url, ct)
	}
	return resp.StatusCode, out
}

// errCode is the stable code of an error body, or "".
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	if msg, _ := e["message"].(string); code != "" && msg == "" {
		return "error without a message"
	}
	return code
}

func countRows(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

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
	checkContract(t, resp.Request, resp, b)
	return resp, string(b)
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

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

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// person is a console account and the password it signs in with.
type person struct{ email, password string }

// newPerson makes a console account with role.
func newPerson(t *testing.T, pool *pgxpool.Pool, role string) person {
	t.Helper()
	p := person{email: fmt.Sprintf("%s-%d@brand.example", role, personSeq.Add(1)), password: accounts.GeneratePassword()}
	if _, err := accounts.Create(t.Context(), pool, p.email, "Test "+strings.ToUpper(role[:1])+role[1:], role, p.password); err != nil {
		t.Fatal(err)
	}
	return p
}

var personSeq atomic.Int64
