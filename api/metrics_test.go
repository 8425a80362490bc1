package api_test

import (
	"strings"
	"testing"
)

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
