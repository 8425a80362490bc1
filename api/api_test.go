package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/console"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/service"
)

func init() { gin.SetMode(gin.ReleaseMode) }

type fixture struct {
	url   string
	key   string // an admin key
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
		if _, err := members.InsertEvents(ctx, pool, f.brand.Events, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := (&embeddings.Backfill{DB: pool, Embedder: embeddings.NewLocal(), Now: func() time.Time { return now }}).RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Cluster: matching.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = newService(t, pool)
	f.queue = f.svc.Queue.(*river.Client[pgx.Tx])
	keys := &apikey.Verifier{DB: pool}
	router := api.New(api.Config{DB: pool, Embedder: embeddings.NewLocal(), Service: f.svc, Keys: keys})
	console.Register(router, console.Config{DB: pool, Keys: keys})
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.key = newKey(t, pool, apikey.ScopeAdmin)
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
	queue, err := jobs.New(pool, svc, jobs.Config{NightlySchedule: "off"})
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

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	if code, body := call(t, f.key, "GET", f.url+"/healthz", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/readyz", ""); code != 503 || errCode(body) != "no_cluster_run" {
		t.Fatalf("readyz before any run: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/members/m-1/communities", ""); code != 404 || errCode(body) != "member_not_found" {
		t.Fatalf("unknown member: %d %v", code, body)
	}
	if code, body := call(t, f.key, "POST", f.url+"/v1/match", `{"profile":{"interests":["yoga"]}}`); code != 503 || errCode(body) != "no_cluster_run" {
		t.Fatalf("match before any run: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/nope", ""); code != 404 || errCode(body) != "route_not_found" {
		t.Fatalf("unknown route: %d %v", code, body)
	}
	if code, body := call(t, f.key, "DELETE", f.url+"/v1/match", ""); code != 405 || errCode(body) != "method_not_allowed" {
		t.Fatalf("wrong method: %d %v", code, body)
	}
}

func TestMembersBatch(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	good := `{"id":"m-1042","name":"Ana","locale":"sv-SE","joined_at":"2024-03-01T00:00:00Z","interests":["trail running","ocean clean-ups"],"causes":["sustainability"],"skill_level":"beginner","attributes":{"tier":"gold","city":"Lisbon"},"consent":{"personalization":true,"community":true}}`
	code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", good+"\n"+`{"id":"m-7"}`)
	if code != 200 || body["inserted"] != 2.0 || body["updated"] != 0.0 {
		t.Fatalf("good batch: %d %v", code, body)
	}
	code, body = call(t, f.key, "POST", f.url+"/v1/members:batch", `{"id":"m-8"}`+"\n"+`{"id":"m-9","joined_at":12}`+"\n"+`{"id":"m-10"}`)
	if code != 422 || errCode(body) != "invalid_batch" {
		t.Fatalf("bad batch: %d %v", code, body)
	}
	details := body["error"].(map[string]any)["details"].([]any)
	d := details[0].(map[string]any)
	if len(details) != 1 || d["line"] != 2.0 || d["field"] != "joined_at" {
		t.Fatalf("bad batch details %v, want line 2, field joined_at", details)
	}
	if n := countRows(t, f.pool, "members"); n != 2 {
		t.Fatalf("a bad batch wrote members: %d stored, want 2", n)
	}
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", ""); code != 400 || errCode(body) != "empty_batch" {
		t.Fatalf("empty batch: %d %v", code, body)
	}
}

func TestEventsBatchIsIdempotent(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", `{"id":"m-1042"}`); code != 200 {
		t.Fatalf("member: %d %v", code, body)
	}
	events := `{"id":"e-9","member_id":"m-1042","type":"class_completed","at":"2026-11-01T07:00:00Z","props":{"category":"trail running","minutes":45}}
{"id":"e-10","member_id":"m-1042","type":"class_completed","at":"2026-11-02T07:00:00Z"}`
	if code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", events); code != 200 || body["inserted"] != 2.0 {
		t.Fatalf("events: %d %v", code, body)
	}
	if code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", events); code != 200 || body["inserted"] != 0.0 || body["duplicates"] != 2.0 {
		t.Fatalf("replay: %d %v", code, body)
	}
	code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", `{"id":"e-11","member_id":"m-1042","type":"x","at":"2026-11-02T07:00:00Z"}`+"\n"+
		`{"id":"e-12","member_id":"ghost","type":"x","at":"2026-11-02T07:00:00Z"}`)
	if code != 422 || errCode(body) != "invalid_batch" || !strings.Contains(jsonString(body), `"line":2`) {
		t.Fatalf("unknown member: %d %v", code, body)
	}
	if n := countRows(t, f.pool, "member_events"); n != 2 {
		t.Fatalf("member_events has %d rows, want 2", n)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestMatchingEndpoints(t *testing.T) {
	t.Parallel()
	f := setup(t, 800)
	if code, body := call(t, f.key, "GET", f.url+"/readyz", ""); code != 200 || body["status"] != "ready" {
		t.Fatalf("readyz: %d %v", code, body)
	}

	var consenting, refused string
	for _, m := range f.brand.Members {
		if m.Consent.Personalization && consenting == "" {
			consenting = m.ID
		}
		if !m.Consent.Personalization && refused == "" {
			refused = m.ID
		}
	}
	code, body := call(t, f.key, "GET", f.url+"/v1/members/"+consenting+"/communities", "")
	if code != 200 || body["member_id"] != consenting || body["run_id"] == "" {
		t.Fatalf("member communities: %d %v", code, body)
	}
	cs := body["communities"].([]any)
	if len(cs) < 1 || len(cs) > 3 {
		t.Fatalf("got %d communities, want a primary and at most 2 secondaries", len(cs))
	}
	first := cs[0].(map[string]any)
	if first["primary"] != true || len(first["labels"].([]any)) == 0 || first["name"] == "" || first["score"].(float64) <= 0 {
		t.Fatalf("primary community %v: want labelled, named, scored", first)
	}
	for _, c := range cs[1:] {
		if c.(map[string]any)["primary"] != false {
			t.Fatalf("secondary community marked primary: %v", c)
		}
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+consenting+"/communities?limit=1", ""); code != 200 || len(body["communities"].([]any)) != 1 {
		t.Fatalf("limit=1: %d %v", code, body)
	}
	for _, q := range []string{"limit=0", "limit=99", "limit=x"} {
		if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+consenting+"/communities?"+q, ""); code != 400 || errCode(body) != "invalid_limit" {
			t.Fatalf("%s: %d %v", q, code, body)
		}
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+refused+"/communities", ""); code != 200 || len(body["communities"].([]any)) != 0 {
		t.Fatalf("member without consent: %d %v, want no communities", code, body)
	}

	// Cold start: a trail runner's profile lands in a community labelled for it.
	code, body = call(t, f.key, "POST", f.url+"/v1/match", `{"profile":{"interests":["trail running","hiking"],"causes":["sustainability"],"skill_level":"beginner"},"limit":2}`)
	if code != 200 || len(body["communities"].([]any)) != 2 {
		t.Fatalf("match: %d %v", code, body)
	}
	best := body["communities"].([]any)[0].(map[string]any)
	labels := []string{}
	for _, l := range best["labels"].([]any) {
		labels = append(labels, l.(string))
	}
	if best["primary"] != true || !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, "trail") || l == "hiking" }) {
		t.Fatalf("best match for a trail runner: %v", best)
	}
	for _, bad := range []struct{ body, code string }{
		{`{"profile":{}}`, "invalid_profile"},
		{`{"profile":{"skill_level":"guru"}}`, "invalid_request"},
		{`{"profile":{"interests":["yoga"]},"limit":50}`, "invalid_request"},
		{`{"profile":{"interests":["yoga"]},"colour":"red"}`, "invalid_request"},
		{`{"profile":{"interests":"yoga"}}`, "invalid_request"},
		{`{"profile":{"interests":[" "]}}`, "invalid_profile"},
		{`{"profile":{"interests":["yoga"]}} {}`, "invalid_json"},
		{``, "invalid_json"},
	} {
		if code, body := call(t, f.key, "POST", f.url+"/v1/match", bad.body); code != 400 || errCode(body) != bad.code {
			t.Errorf("match %q: %d %v, want 400 %s", bad.body, code, body, bad.code)
		}
	}

	// Communities: pages that cover every community once, and each one by id.
	seen := map[string]bool{}
	after := ""
	for page := 0; page < 100; page++ {
		code, body := call(t, f.key, "GET", f.url+"/v1/communities?limit=7&after="+after, "")
		if code != 200 {
			t.Fatalf("list: %d %v", code, body)
		}
		for _, c := range body["communities"].([]any) {
			id := c.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("community %s listed twice", id)
			}
			seen[id] = true
		}
		next, ok := body["next_after"].(string)
		if !ok {
			break
		}
		after = next
	}
	if n := countRows(t, f.pool, "communities"); len(seen) != n {
		t.Fatalf("listed %d communities, stored %d", len(seen), n)
	}
	id := first["id"].(string)
	if code, body := call(t, f.key, "GET", f.url+"/v1/communities/"+id, ""); code != 200 || body["id"] != id || body["size"].(float64) < 1 {
		t.Fatalf("get community: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/communities/c-0", ""); code != 404 || errCode(body) != "community_not_found" {
		t.Fatalf("unknown community: %d %v", code, body)
	}
}

func FuzzDecodeMatchRequest(f *testing.F) {
	f.Add(`{"profile":{"interests":["trail running"],"causes":["sustainability"],"skill_level":"beginner"},"limit":3}`)
	f.Add(`{"profile":{"interests":[""]}}`)
	f.Add(`{"limit":-1}`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := api.DecodeMatchRequest(strings.NewReader(in))
		if err != nil {
			return
		}
		if req.Limit < 1 || req.Limit > 20 {
			t.Fatalf("accepted limit %d", req.Limit)
		}
		if err := req.Profile.Normalize(); err != nil {
			t.Fatalf("accepted an invalid profile: %v", err)
		}
	})
}

func TestMatchAnswers503WhenTheEmbedderIsDown(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
	}))
	defer down.Close()
	emb, err := embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: down.URL + "/v1", Model: "text-embedding-3-small"})
	if err != nil {
		t.Fatal(err)
	}
	pool := dbtest.Schema(t)
	srv := httptest.NewServer(api.New(api.Config{DB: pool, Embedder: emb, Service: newService(t, pool)}))
	defer srv.Close()
	code, body := call(t, newKey(t, pool, apikey.ScopeMatchRead), "POST", srv.URL+"/v1/match", `{"profile":{"interests":["yoga"]}}`)
	if code != 503 || errCode(body) != "embedder_unavailable" {
		t.Fatalf("match with the embedder down: %d %v", code, body)
	}
}

func TestClusterRunsAndMultiMembership(t *testing.T) {
	t.Parallel()
	f := setup(t, 800)
	code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs", "")
	runs, _ := body["cluster_runs"].([]any)
	if code != 200 || len(runs) != 1 {
		t.Fatalf("cluster runs: %d %v", code, body)
	}
	run := runs[0].(map[string]any)
	metrics := run["metrics"].(map[string]any)
	for _, k := range []string{"cohesion", "silhouette", "min_size", "median_size", "max_size", "churn", "births", "deaths", "tribes"} {
		if _, ok := metrics[k]; !ok {
			t.Errorf("run metrics lack %q: %v", k, metrics)
		}
	}
	if run["status"] != "published" || run["current"] != true || metrics["min_size"].(float64) < 12 || metrics["max_size"].(float64) > 150 {
		t.Fatalf("run %v: want the published, current run within size bounds", run)
	}
	id := run["id"].(string)
	if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/"+id, ""); code != 200 || body["id"] != id {
		t.Fatalf("get run: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/999999", ""); code != 404 || errCode(body) != "cluster_run_not_found" {
		t.Fatalf("unknown run: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/abc", ""); code != 400 || errCode(body) != "invalid_run_id" {
		t.Fatalf("bad run id: %d %v", code, body)
	}

	// Secondary communities come with their rank and score, above the threshold, and
	// every community carries its tribe.
	secondaries := 0
	for _, m := range f.brand.Members[:100] {
		code, body := call(t, f.key, "GET", f.url+"/v1/members/"+m.ID+"/communities", "")
		if code != 200 {
			t.Fatalf("member %s: %d %v", m.ID, code, body)
		}
		for i, c := range body["communities"].([]any) {
			c := c.(map[string]any)
			if int(c["rank"].(float64)) != i+1 || (i == 0) != c["primary"].(bool) {
				t.Fatalf("member %s community %d: rank %v primary %v", m.ID, i, c["rank"], c["primary"])
			}
			if tribe, _ := c["tribe"].(map[string]any); tribe == nil || tribe["id"] == "" || tribe["name"] == "" {
				t.Fatalf("community without a tribe: %v", c)
			}
			if i > 0 {
				secondaries++
				if c["score"].(float64) < 0.75 {
					t.Fatalf("secondary below the 0.75 threshold: %v", c)
				}
			}
		}
	}
	if secondaries == 0 {
		t.Fatal("no member of 100 has a secondary community")
	}
}
