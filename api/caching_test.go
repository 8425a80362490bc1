package api_test

import (
	"strings"
	"testing"
)

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
