package api_test

import (
	"strings"
	"testing"
)

// TestTextTheDatabaseCannotHold sends NUL characters and invalid UTF-8 through every
// kind of input — path ids, query parameters, JSONL lines, JSON bodies — with keys of
// every scope: each answer is a 4xx with a stable code, and nothing is written.
func TestTextTheDatabaseCannotHold(t *testing.T) {
	t.Parallel()
	f := setup(t, 120)
	tables := []string{"members", "member_events", "member_milestones", "pilots", "feedback", "content_drafts", "river_job", "idempotency_keys"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = countRows(t, f.pool, tb)
	}
	m := f.brand.Members[0].ID
	cases := []struct{ method, path, body string }{
		{"GET", "/v1/members/%00/communities", ""},
		{"GET", "/v1/members/%FF%FE/peers", ""},
		{"GET", "/v1/members/a%00b/moment", ""},
		{"GET", "/v1/members/%00/recognitions", ""},
		{"GET", "/v1/members/%00/content", ""},
		{"DELETE", "/v1/members/%00", ""},
		{"GET", "/v1/communities?after=%00", ""},
		{"GET", "/v1/communities/%FF", ""},
		{"GET", "/v1/communities/c-1/content?kind=%00", ""},
		{"GET", "/v1/members/" + m + "/moment?channel=%FF", ""},
		{"GET", "/v1/content/drafts?status=%00", ""},
		{"GET", "/v1/trends?window_days=%00", ""},
		{"POST", "/v1/members:batch", `{"id":"x-1","name":"A\u0000B"}`},
		{"POST", "/v1/members:batch", `{"id":"x-1","interests":["yo\u0000ga"]}`},
		{"POST", "/v1/members:batch", `{"id":"x-1","attributes":{"tier":"go\u0000ld"}}`},
		{"POST", "/v1/members:batch", `{"id":"x-1","attributes":{"ti\u0000er":"gold"}}`},
		{"POST", "/v1/members:batch", `{"id":"x\u00001"}`},
		{"POST", "/v1/members:batch", "{\"id\":\"x-1\",\"name\":\"\xff\xfe\"}"},
		{"POST", "/v1/events:batch", `{"id":"e-x","member_id":"` + m + `","type":"x","at":"2026-11-01T07:00:00Z","props":{"c":"\u0000"}}`},
		{"POST", "/v1/events:batch", `{"id":"e-\u0000","member_id":"` + m + `","type":"x","at":"2026-11-01T07:00:00Z"}`},
		{"POST", "/v1/match", `{"profile":{"interests":["\u0000"]}}`},
		{"POST", "/v1/pilots", `{"name":"Trail\u0000kit","size":5,"target":{"stages":["growth"]}}`},
		{"POST", "/v1/feedback", `{"member_id":"` + m + `","rating":4,"text":"good\u0000bad"}`},
		{"POST", "/v1/feedback", `{"member_id":"\u0000","rating":4}`},
		{"POST", "/v1/feedback", `{"member_id":"` + m + `","rating":4,"text":"gr\u0007eat"}`},
		{"POST", "/v1/pilots", `{"name":"T\u0007","size":5,"target":{"stages":["growth"]}}`},
		{"POST", "/v1/content/drafts", `{"kind":"challenge","community_id":"c\u00001"}`},
		{"POST", "/v1/content/drafts", `{"kind":"challenge","community_id":"c-1","locale":"s\u0000v"}`},
	}
	for _, c := range cases {
		resp, body := raw(t, c.method, f.url+c.path, c.body, bearer(f.key)...)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, `"code":"`) {
			t.Errorf("%s %s %q: %d %s; want a 4xx with a code", c.method, c.path, c.body, resp.StatusCode, body)
		}
	}
	for _, tb := range tables {
		if n := countRows(t, f.pool, tb); n != before[tb] {
			t.Errorf("%s: %d rows after the rejected requests, %d before", tb, n, before[tb])
		}
	}
}

// TestLooseParametersAreRefused: unknown enum values, ids past 32 bits, feedback for a
// community that does not exist and oversized locales answer 4xx with a code (or, for
// a valid large cursor, 200), never a silent empty filter or a 500.
func TestLooseParametersAreRefused(t *testing.T) {
	t.Parallel()
	f := setup(t, 120)
	cases := []struct {
		method, path, body string
		code               int
		errCode            string
	}{
		{"GET", "/v1/content/drafts?kind=poem", "", 400, "invalid_kind"},
		{"GET", "/v1/content/drafts?status=pending", "", 400, "invalid_status"},
		{"GET", "/v1/communities/c-1/content?kind=poem", "", 400, "invalid_kind"},
		{"GET", "/v1/communities/c-1/content?locale=xx", "", 400, "invalid_locale"},
		{"GET", "/v1/members/" + f.brand.Members[0].ID + "/content?locale=fr", "", 400, "invalid_locale"},
		{"GET", "/v1/cluster-runs?before=1099511627776", "", 200, ""},
		{"GET", "/v1/cluster-runs?before=99999999999999999999999", "", 400, "invalid_cursor"},
		{"GET", "/v1/challenges?cursor=x1", "", 400, "invalid_cursor"},
		{"GET", "/v1/communities/c-99999/feedback", "", 404, "community_not_found"},
		{"POST", "/v1/content/drafts", `{"kind":"challenge","community_id":"c-1","locale":"sv-` + strings.Repeat("x", 100) + `"}`, 400, "invalid_request"},
	}
	for _, c := range cases {
		code, body := call(t, f.key, c.method, f.url+c.path, c.body)
		if code != c.code || errCode(body) != c.errCode {
			t.Errorf("%s %s: %d %v; want %d %q", c.method, c.path, code, body, c.code, c.errCode)
		}
	}
}
