package api_test

import (
	"testing"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	if code, body := call(t, f.key, "GET", f.url+"/healthz", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, body)
	}
	// Ready before the first run (ingest works), saying there is no run yet.
	if code, body := call(t, f.key, "GET", f.url+"/readyz", ""); code != 200 || body["status"] != "ready" || body["run_id"] != nil {
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
