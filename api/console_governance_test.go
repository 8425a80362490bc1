package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/accounts"
)

// Governance in the console: an admin saves brand settings and the guardrails use
// them at once; a draft using a banned phrase is blocked (a reviewer cannot approve
// it, an admin overrides it with a reason); approved content is withdrawn and the API
// stops serving it; an edit refused for its shape comes back with what was typed.
func TestConsoleGovernance(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := setup(t, 300)
	reviewer := newPerson(t, f.pool, accounts.RoleReviewer)
	var community string
	if err := f.pool.QueryRow(ctx, `SELECT id FROM communities WHERE run_id = (SELECT run_id FROM current_run) ORDER BY size DESC LIMIT 1`).Scan(&community); err != nil {
		t.Fatal(err)
	}
	brand := url.Values{"banned": {"beast mode\nsmash it"}, "voice": {"Warm and plain."}, "tone": {"encouraging"}, "limits": {"push 120, sms 160"}}
	if code, page := consolePost(t, f.url, reviewer, "/console/brand", brand, true); code != http.StatusForbidden || !strings.Contains(page, "edited by admins") {
		t.Fatalf("a reviewer saves brand settings: %d", code)
	}
	bad := url.Values{"banned": {"x"}, "limits": {"push lots"}}
	if code, page := consolePost(t, f.url, f.admin, "/console/brand", bad, true); code != http.StatusBadRequest || !strings.Contains(page, "push lots") {
		t.Fatalf("bad limits: %d", code)
	}
	if code, page := consolePost(t, f.url, f.admin, "/console/brand", brand, true); code != 200 || !strings.Contains(page, "Saved as version 1") {
		t.Fatalf("save brand settings: %d", code)
	}

	// A prompt edited to use a banned phrase is blocked.
	prompt := requestDraft(t, f, f.key, `{"kind":"community_prompt","community_id":"`+community+`","locale":"en"}`)
	code, edited := call(t, f.key, "PUT", f.url+"/v1/content/drafts/"+prompt["id"].(string), `{"body":{"prompt":"Ready to go beast mode?"}}`)
	if code != 201 {
		t.Fatalf("edit: %d %v", code, edited)
	}
	id := edited["id"].(string)
	if fs := edited["findings"].([]any); len(fs) == 0 || fs[0].(map[string]any)["severity"] != "block" {
		t.Fatalf("findings %v: want the banned phrase, blocking", fs)
	}
	if code, page := consoleGet(t, f.url+"/console/queue", reviewer); code != 200 || !strings.Contains(page, `id="blocked-`+id+`"`) ||
		strings.Contains(page, `id="approve-`+id+`"`) {
		t.Fatalf("the reviewer's queue: %d, blocked shown %v", code, strings.Contains(page, `id="blocked-`+id+`"`))
	}
	if code, _ := consolePost(t, f.url, reviewer, "/console/drafts/"+id+"/approve", url.Values{}, true); code != http.StatusUnprocessableEntity {
		t.Fatalf("a reviewer approves a blocked draft: %d, want 422", code)
	}
	if code, _ := consolePost(t, f.url, reviewer, "/console/drafts/"+id+"/approve", url.Values{"override": {"1"}, "reason": {"fine"}}, true); code != http.StatusForbidden {
		t.Fatalf("a reviewer overrides: %d, want 403", code)
	}
	if code, page := consolePost(t, f.url, f.admin, "/console/drafts/"+id+"/approve", url.Values{"override": {"1"}, "reason": {"our own campaign line"}}, true); code != 200 ||
		strings.Contains(page, `class="error"`) {
		t.Fatalf("an admin overrides: %d", code)
	}
	var audit string
	if err := f.pool.QueryRow(ctx, `SELECT changes->>'override' || ' / ' || reason FROM content_reviews WHERE draft_id = $1 AND action = 'approved'`, id).Scan(&audit); err != nil ||
		audit != "banned_phrase / our own campaign line" {
		t.Fatalf("the override's audit: %q %v", audit, err)
	}
	served := func() int {
		_, body := call(t, f.key, "GET", f.url+"/v1/communities/"+community+"/content?kind=community_prompt", "")
		return len(body["content"].([]any))
	}
	if served() != 1 {
		t.Fatal("the overridden draft is not served")
	}
	if code, _ := consolePost(t, f.url, reviewer, "/console/drafts/"+id+"/withdraw", url.Values{"reason": {"campaign over"}}, true); code != 200 {
		t.Fatalf("withdraw: %d", code)
	}
	if served() != 0 {
		t.Fatal("withdrawn content is still served")
	}

	// An edit that breaks the shape is refused and the typed text comes back.
	challenge := requestDraft(t, f, f.key, `{"kind":"challenge","community_id":"`+community+`","locale":"en"}`)
	cid := challenge["id"].(string)
	code, page := consolePost(t, f.url, reviewer, "/console/drafts/"+cid+"/edit", url.Values{"f_title": {"My new title"}, "f_narrative": {"n"},
		"f_steps": {"only one step"}, "f_duration_days": {"7"}, "f_difficulty": {"steady"}}, true)
	if code != http.StatusBadRequest || !strings.Contains(page, "3 to 5 steps") || !strings.Contains(page, "My new title") {
		t.Fatalf("a refused edit: %d, reason shown %v, typed title kept %v", code, strings.Contains(page, "3 to 5 steps"), strings.Contains(page, "My new title"))
	}
	if n := count(t, f, "SELECT count(*) FROM content_drafts WHERE group_id = "+cid); n != 1 {
		t.Fatalf("a refused edit stored %d versions", n)
	}
}
