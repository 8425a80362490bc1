package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/apikey"
)

// Dry runs through the API: admin only; bad settings are refused with their code
// and write nothing; a good request is queued (202) and computed by the job, whose
// report the GETs show; publishing queues the run that the job publishes.
func TestDryRunEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 300) // clustered at target size 40
	written := func() int {
		return countRows(t, f.pool, "dry_runs") + countRows(t, f.pool, "river_job WHERE kind IN ('dry_run', 'cluster')")
	}

	t.Run("admin only", func(t *testing.T) {
		for _, scope := range []string{apikey.ScopeMatchRead, apikey.ScopeMembersWrite, apikey.ScopeContentReview} {
			key := newKey(t, f.pool, scope)
			for _, r := range [][2]string{{"POST", "/v1/cluster-runs/dry-runs"}, {"GET", "/v1/cluster-runs/dry-runs"},
				{"GET", "/v1/cluster-runs/dry-runs/1"}, {"POST", "/v1/cluster-runs/dry-runs/1/publish"}} {
				if code, body := call(t, key, r[0], f.url+r[1], `{"target_size": 20}`); code != http.StatusForbidden {
					t.Errorf("%s %s with a %s key: %d %v, want 403", r[0], r[1], scope, code, body)
				}
			}
		}
		if code, _ := call(t, "", "POST", f.url+"/v1/cluster-runs/dry-runs", "{}"); code != http.StatusUnauthorized {
			t.Errorf("without a key: %d, want 401", code)
		}
		if n := written(); n != 0 {
			t.Fatalf("refused requests wrote %d rows", n)
		}
	})

	t.Run("bad settings", func(t *testing.T) {
		for _, tc := range []struct{ body, code string }{
			{`{"target_size": 0}`, "invalid_target_size"},
			{`{"min_size": -1}`, "invalid_min_size"},
			{`{"max_size": 20000}`, "invalid_max_size"},
			{`{"target_size": 5}`, "invalid_sizes"}, // below the server's min_size, 12
			{`{"min_size": 10, "target_size": 30, "max_size": 8}`, "invalid_sizes"},
			{`{"min_size": 20, "target_size": 30, "max_size": 30}`, "max_size_too_small"},
			{`{"facets": ["city"]}`, "invalid_facets"},
			{`{"facets": ["attributes.home town"]}`, "invalid_facets"},
			{`{"facets": ["attributes."]}`, "invalid_facets"},
			{`{"facets": ["language", "language"]}`, "invalid_facets"},
			{`{"facets": ["language", "skill", "attributes.a", "attributes.b", "attributes.c"]}`, "invalid_facets"},
			{`{"target": 10}`, "invalid_json"},
			{`{"target_size": "10"}`, "invalid_json"},
			{`{"target_size": 10.5}`, "invalid_json"},
			{`{"seed": -1}`, "invalid_json"},
			{`[1]`, "invalid_json"},
			{`{"target_size": 20} {}`, "invalid_json"},
		} {
			code, body := call(t, f.key, "POST", f.url+"/v1/cluster-runs/dry-runs", tc.body)
			if code != http.StatusBadRequest || errCode(body) != tc.code {
				t.Errorf("%s: %d %v, want 400 %s", tc.body, code, body, tc.code)
			}
		}
		if n := written(); n != 0 {
			t.Fatalf("bad settings wrote %d rows", n)
		}
		for _, path := range []string{"/v1/cluster-runs/dry-runs/abc", "/v1/cluster-runs/dry-runs/0"} {
			if code, body := call(t, f.key, "GET", f.url+path, ""); code != 400 || errCode(body) != "invalid_dry_run_id" {
				t.Errorf("GET %s: %d %v", path, code, body)
			}
		}
		if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/dry-runs/999", ""); code != 404 || errCode(body) != "dry_run_not_found" {
			t.Errorf("GET an unknown dry run: %d %v", code, body)
		}
		if code, body := call(t, f.key, "POST", f.url+"/v1/cluster-runs/dry-runs/999/publish", ""); code != 404 || errCode(body) != "dry_run_not_found" {
			t.Errorf("publish an unknown dry run: %d %v", code, body)
		}
	})

	t.Run("queued, computed, published", func(t *testing.T) {
		before := runID(t, f)
		body := `{"target_size": 15, "min_size": 6, "max_size": 40, "seed": 3, "facets": ["language"]}`
		resp, raw1 := raw(t, "POST", f.url+"/v1/cluster-runs/dry-runs", body, append(bearer(f.key), "Idempotency-Key", "dry-1")...)
		if resp.StatusCode != http.StatusAccepted || !strings.Contains(raw1, `"status":"queued"`) ||
			!strings.HasPrefix(resp.Header.Get("Location"), "/v1/cluster-runs/dry-runs/") {
			t.Fatalf("request: %d %s (Location %q)", resp.StatusCode, raw1, resp.Header.Get("Location"))
		}
		location := f.url + resp.Header.Get("Location")
		// A retry with the same key gets the same answer and queues nothing more.
		resp, raw2 := raw(t, "POST", f.url+"/v1/cluster-runs/dry-runs", body, append(bearer(f.key), "Idempotency-Key", "dry-1")...)
		if resp.StatusCode != http.StatusAccepted || raw2 != raw1 || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %s", resp.StatusCode, raw2)
		}
		if n := countRows(t, f.pool, "dry_runs"); n != 1 {
			t.Fatalf("%d dry runs after a request and its retry, want 1", n)
		}
		f.settle(t)
		code, d := call(t, f.key, "GET", location, "")
		if code != 200 || d["status"] != "done" {
			t.Fatalf("after the job: %d %v", code, d)
		}
		settings := d["settings"].(map[string]any)
		if settings["target_size"] != 15.0 || settings["min_size"] != 6.0 || settings["seed"] != 3.0 || jsonString(settings["facets"]) != `["language"]` {
			t.Fatalf("settings %v", settings)
		}
		report, _ := d["report"].(map[string]any)
		metrics, _ := d["metrics"].(map[string]any)
		splits, _ := report["splits"].([]any)
		current, _ := report["current"].(map[string]any)
		if metrics == nil || len(splits) == 0 || current == nil || metrics["communities"].(float64) <= current["communities"].(float64) ||
			report["current_sizes"] == nil || report["merges"] == nil || report["renamed"] == nil {
			t.Fatalf("target 15 against a run at 40: report %.600v, metrics %v", report, metrics)
		}
		if runID(t, f) != before {
			t.Fatal("a dry run changed the current run")
		}

		// A second, with the server's settings (an empty body), lists first.
		if code, d2 := call(t, f.key, "POST", f.url+"/v1/cluster-runs/dry-runs", ""); code != 202 ||
			d2["settings"].(map[string]any)["target_size"] != 50.0 || jsonString(d2["settings"].(map[string]any)["facets"]) != "[]" {
			t.Fatalf("request with the server's settings: %d %v", code, d2)
		}
		code, list := call(t, f.key, "GET", f.url+"/v1/cluster-runs/dry-runs?limit=1", "")
		page, _ := list["dry_runs"].([]any)
		if code != 200 || len(page) != 1 || page[0].(map[string]any)["settings"].(map[string]any)["target_size"] != 50.0 ||
			page[0].(map[string]any)["report"] != nil || list["next_cursor"] == nil || list["has_more"] != true {
			t.Fatalf("first page: %d %v", code, list)
		}
		code, list = call(t, f.key, "GET", f.url+"/v1/cluster-runs/dry-runs?limit=1&cursor="+list["next_cursor"].(string), "")
		page, _ = list["dry_runs"].([]any)
		// The last page says so: has_more false, no cursor (a page exactly the limit
		// long is not taken for a full one).
		if code != 200 || len(page) != 1 || page[0].(map[string]any)["id"] != d["id"] || list["next_cursor"] != nil || list["has_more"] != false {
			t.Fatalf("second page: %d %v", code, list)
		}
		if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/dry-runs?limit=0", ""); code != 400 || errCode(body) != "invalid_limit" {
			t.Fatalf("limit 0: %d %v", code, body)
		}
		f.settle(t)

		code, pub := call(t, f.key, "POST", location+"/publish", "")
		if code != http.StatusAccepted || pub["job_id"] == nil || pub["dry_run"].(map[string]any)["published"] == nil {
			t.Fatalf("publish: %d %v", code, pub)
		}
		if code, again := call(t, f.key, "POST", location+"/publish", ""); code != http.StatusConflict || errCode(again) != "dry_run_published" {
			t.Fatalf("publish twice: %d %v", code, again)
		}
		f.settle(t)
		var communities float64
		if err := f.pool.QueryRow(ctx, `SELECT (metrics->>'communities')::float8 FROM cluster_runs
			WHERE id = (SELECT run_id FROM current_run)`).Scan(&communities); err != nil {
			t.Fatal(err)
		}
		if runID(t, f) == before || communities != metrics["communities"] {
			t.Fatalf("after publishing: run %d (was %d) with %v communities, the dry run had %v", runID(t, f), before, communities, metrics["communities"])
		}
	})
}

func runID(t *testing.T, f fixture) int64 {
	t.Helper()
	var id int64
	if err := f.pool.QueryRow(context.Background(), "SELECT run_id FROM current_run").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
