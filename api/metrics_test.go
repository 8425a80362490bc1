package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/metrics"
)

// /metrics answers a metrics:read key (and an admin's), nobody else, in Prometheus'
// format: requests by route template (never a raw id), the runtime, the process, the
// build, the pool, the queue, the nightly pipeline and the last published run; and the
// jobs a process works are counted as they finish.
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
	scraper := newKey(t, f.pool, apikey.ScopeMetricsRead)
	resp, body := raw(t, "GET", f.url+"/metrics", "", bearer(scraper)...)
	for _, want := range []string{
		`belong_http_requests_total{method="GET",route="/v1/members/:id/communities",status="200"} 1`,
		`belong_http_request_duration_seconds_bucket{method="GET",route="/v1/members/:id/communities",le="+Inf"} 1`,
		"go_goroutines ", "process_resident_memory_bytes ", `belong_build_info{revision=`,
		`belong_db_pool_connections{state="acquired"}`, "belong_db_pool_max_connections ",
		`belong_pipeline_last_success_timestamp_seconds{pipeline="nightly"} 0`,
		"belong_metrics_db_read_errors 0",
	} {
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q: %d\n%s", want, resp.StatusCode, body)
		}
	}
	if strings.Contains(body, "belong_cluster_run_last_published_timestamp_seconds 0\n") {
		t.Fatal("the published run's time is missing")
	}
	if strings.Contains(body, id) {
		t.Fatal("metrics carry a raw member id")
	}
	if code, _ := call(t, newKey(t, f.pool, apikey.ScopeMatchRead), "GET", f.url+"/metrics", ""); code != 403 {
		t.Fatalf("a match:read key scrapes: %d", code)
	}

	// The jobs this process works, and the queue as the database has it.
	m := metrics.New(f.pool, metrics.Build{Version: "test", Revision: "r"}, nil)
	m.WatchJobs(t.Context(), f.queue)
	var community string
	if err := f.pool.QueryRow(t.Context(), `SELECT id FROM communities WHERE run_id = (SELECT run_id FROM current_run) LIMIT 1`).Scan(&community); err != nil {
		t.Fatal(err)
	}
	requestDraft(t, f, f.key, `{"kind":"community_prompt","community_id":"`+community+`"}`)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	// Events reach the watcher a moment after the job is done.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, body = raw(t, "GET", srv.URL, ""); strings.Contains(body, "belong_jobs_finished_total") {
			break
		}
	}
	for _, want := range []string{`belong_jobs_finished_total{kind="draft_content",outcome="completed"} 1`,
		`belong_job_run_duration_seconds_count{kind="draft_content"} 1`, `belong_jobs{kind="draft_content",state="completed"} 1`} {
		if !strings.Contains(body, want) {
			t.Fatalf("job metrics lack %q:\n%s", want, body)
		}
	}
}
