package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/members"
)

func TestTrendsOnConstructedHistories(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 0)
	// 400 members: the first half were active 31–60 days ago doing yoga; the second
	// half active in the last 30 days, 150 of them taking up padel.
	var ms, es strings.Builder
	now := time.Now().UTC()
	for i := 0; i < 400; i++ {
		interest := "yoga"
		at := now.AddDate(0, 0, -45)
		if i >= 200 {
			at = now.AddDate(0, 0, -5)
			if i < 350 {
				interest = "padel"
			}
		}
		fmt.Fprintf(&ms, `{"id":"t-%d","interests":[%q],"consent":{"personalization":true}}`+"\n", i, interest)
		fmt.Fprintf(&es, `{"id":"te-%d","member_id":"t-%d","type":"session_logged","at":%q}`+"\n", i, i, at.Format(time.RFC3339))
	}
	mm, _ := members.DecodeMembers(strings.NewReader(ms.String()), 0)
	members.Upsert(ctx, f.pool, mm)
	ee, lines, _ := members.DecodeEvents(strings.NewReader(es.String()), 0)
	if _, err := members.InsertEvents(ctx, f.pool, ee, lines, time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, b := call(t, f.key, "GET", f.url+"/v1/trends", ""); code != 503 {
		t.Fatalf("trends before any run: %d %v", code, b)
	}
	// Two runs of hand-made communities: c-1 grows from 100 to 250, c-2 shrinks.
	zero := "[" + strings.TrimSuffix(strings.Repeat("0,", 256), ",") + "]"
	_, err := f.pool.Exec(ctx, `
		INSERT INTO cluster_runs (status, model, params) VALUES ('published', 'm', '{}'), ('published', 'm', '{}');
		INSERT INTO communities (run_id, id, centroid, size, labels, name) VALUES
			(1, 'c-1', '`+zero+`', 100, '{}', 'a'), (1, 'c-2', '`+zero+`', 300, '{}', 'b'),
			(2, 'c-1', '`+zero+`', 250, '{}', 'a'), (2, 'c-2', '`+zero+`', 150, '{}', 'b');
		INSERT INTO current_run (run_id) VALUES (2);`)
	if err != nil {
		t.Fatal(err)
	}
	code, r := call(t, f.key, "GET", f.url+"/v1/trends?window_days=30", "")
	if code != 200 {
		t.Fatalf("trends: %d %v", code, r)
	}
	names := func(k string) string {
		var out []string
		for _, c := range r[k].([]any) {
			out = append(out, c.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	if names("communities_growing") != "c-1" || names("communities_shrinking") != "c-2" {
		t.Fatalf("communities: growing %q shrinking %q", names("communities_growing"), names("communities_shrinking"))
	}
	if names("terms_rising") != "padel" || names("terms_falling") != "yoga" {
		t.Fatalf("terms: rising %q falling %q", names("terms_rising"), names("terms_falling"))
	}
	// The console draws the same trends as bars.
	code, page := consoleGet(t, f.url+"/console/trends", f.admin)
	if code != 200 || !strings.Contains(page, "<svg") || !strings.Contains(page, "padel (") || !strings.Contains(page, "c-2 (") {
		t.Fatalf("console trends: %d\n%s", code, page)
	}
}

// consoleGet fetches a console page with a session for key.
// consoleGet signs in to the console with key and gets url.
func consoleGet(t *testing.T, url string, who person) (int, string) {
	t.Helper()
	base, _, _ := strings.Cut(url, "/console")
	resp, body := raw(t, "GET", url, "", "Cookie", "belong_session="+signIn(t, base, who))
	return resp.StatusCode, body
}

// signIn signs in to the console as a browser does — the form's CSRF token from its
// cookie and hidden field, then the e-mail address and password — and returns the
// session token.
func signIn(t *testing.T, base string, who person) string {
	t.Helper()
	resp, body := raw(t, "GET", base+"/console/login", "")
	var login string
	for _, c := range resp.Cookies() {
		if c.Name == "belong_login" {
			login = c.Value
		}
	}
	if login == "" || !strings.Contains(body, `name="csrf" value="`+login+`"`) {
		t.Fatalf("sign-in form: no CSRF token (cookie %q)", login)
	}
	req, _ := http.NewRequest("POST", base+"/console/login", strings.NewReader(url.Values{"email": {who.email}, "password": {who.password}, "csrf": {login}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "belong_login="+login)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "belong_session" && c.Value != "" {
			if strings.Contains(c.Value, who.password) {
				t.Fatal("the session cookie holds the password")
			}
			return c.Value
		}
	}
	t.Fatalf("sign-in: %d, no session cookie", resp.StatusCode)
	return ""
}
