package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/accounts"
)

// An admin adds a reviewer on the People page and hands over the password shown
// once; the reviewer signs in, and what they approve is audited under their name; the
// admin signs them out everywhere and their session stops working; reviewers cannot
// manage people and an admin cannot demote or disable themselves.
func TestConsolePeople(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := setup(t, 0)
	code, page := consolePost(t, f.url, f.admin, "/console/people",
		url.Values{"email": {"ana@brand.example"}, "name": {"Ana Lima"}, "role": {"reviewer"}}, true)
	m := regexp.MustCompile(`<code id="new-password">([^<]+)</code>`).FindStringSubmatch(page)
	if code != http.StatusCreated || m == nil {
		t.Fatalf("add a person: %d, password shown: %v", code, m != nil)
	}
	ana := person{email: "ana@brand.example", password: m[1]}
	if code, page := consolePost(t, f.url, f.admin, "/console/people",
		url.Values{"email": {"not an address"}, "name": {"Bo"}, "role": {"reviewer"}}, true); code != http.StatusBadRequest ||
		!strings.Contains(page, "not an e-mail address") || !strings.Contains(page, `value="Bo"`) {
		t.Errorf("a bad address: %d %s", code, page)
	}

	// Ana approves a draft; the audit trail names her.
	var draft int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO content_drafts (kind, subject_id, locale, body, generator, prompt_version, group_id)
		VALUES ('community_prompt', 'c-1', 'en', '{"prompt":"What drew you in?"}', 'template', 'v', 0) RETURNING id`).Scan(&draft); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE content_drafts SET group_id = id WHERE id = $1`, draft); err != nil {
		t.Fatal(err)
	}
	session := signIn(t, f.url, ana)
	if code, _ := consolePost(t, f.url, ana, "/console/drafts/"+strconv.FormatInt(draft, 10)+"/approve", url.Values{}, true); code != http.StatusOK {
		t.Fatalf("ana approves: %d", code)
	}
	var actor string
	if err := f.pool.QueryRow(ctx, `SELECT actor FROM content_reviews WHERE draft_id = $1 AND action = 'approved'`, draft).Scan(&actor); err != nil ||
		actor != "Ana Lima <ana@brand.example>" {
		t.Fatalf("audited as %q (%v), want Ana by name", actor, err)
	}

	// Reviewers do not manage people.
	if code, _ := consoleGet(t, f.url+"/console/people", ana); code != http.StatusForbidden {
		t.Errorf("a reviewer opens People: %d", code)
	}
	u, err := accounts.Find(ctx, f.pool, "ana@brand.example")
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(u.ID, 10)
	if code, _ := consolePost(t, f.url, ana, "/console/people/"+id+"/role", url.Values{"role": {"admin"}}, true); code != http.StatusForbidden {
		t.Fatal("a reviewer made themselves an admin")
	}
	// The admin signs Ana out everywhere: her session ends.
	if code, page := consolePost(t, f.url, f.admin, "/console/people/"+id+"/sign-out", url.Values{}, true); code != 200 || !strings.Contains(page, "signed out everywhere") {
		t.Fatalf("sign Ana out: %d", code)
	}
	resp, _ := raw(t, "GET", f.url+"/console/queue", "", "Cookie", "belong_session="+session)
	if resp.Request.URL.Path != "/console/login" {
		t.Fatalf("after being signed out everywhere, Ana's old session reaches %s", resp.Request.URL.Path)
	}
	// An admin cannot demote or disable themselves.
	me, err := accounts.Find(ctx, f.pool, f.admin.email)
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"role", "disable"} {
		code, page := consolePost(t, f.url, f.admin, "/console/people/"+strconv.FormatInt(me.ID, 10)+"/"+action, url.Values{"role": {"reviewer"}}, true)
		if code != http.StatusBadRequest || !strings.Contains(page, "another admin") {
			t.Errorf("an admin's own %s: %d", action, code)
		}
	}
	if got, _ := accounts.Find(ctx, f.pool, f.admin.email); got.Role != accounts.RoleAdmin || got.DisabledAt != nil {
		t.Fatalf("the admin after refused self-changes: %+v", got)
	}
}
