package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/belong-loyalty/belong/accounts"
)

// chromium is Debian's headless browser, installed by scripts/deps.sh.
const chromium = "/usr/bin/chromium"

// TestConsoleEndToEnd signs in to the console in a real headless Chromium, approves a
// draft with a click, and then sees the approved content served by the API.
func TestConsoleEndToEnd(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: make test installs Debian's chromium (scripts/deps.sh)", chromium)
	}
	ctx := context.Background()
	f := setup(t, 300)
	if _, err := f.svc.DraftCommunities(ctx, []string{"en"}); err != nil {
		t.Fatal(err)
	}
	var id, community string
	if err := f.pool.QueryRow(ctx, `SELECT id::text, subject_id FROM content_drafts ORDER BY id LIMIT 1`).Scan(&id, &community); err != nil {
		t.Fatal(err)
	}
	reviewer := newPerson(t, f.pool, accounts.RoleReviewer)

	// Chromium may still be writing its profile as it exits, which t.TempDir's strict
	// cleanup reports as a failure; this directory is removed best-effort instead.
	profile, err := os.MkdirTemp("", "belong-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(profile))
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	var cookies []*network.Cookie
	var shot []byte
	var queueText, communitiesText string
	err = chromedp.Run(bctx,
		chromedp.Navigate(f.url+"/console/queue"), // not signed in: sent to sign-in
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.SendKeys("#email", reviewer.email, chromedp.ByID),
		chromedp.SendKeys("#password", reviewer.password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#draft-"+id, chromedp.ByID),
		chromedp.Text("main", &queueText, chromedp.ByQuery),
		chromedp.Click("#approve-"+id, chromedp.ByID),
		chromedp.WaitNotPresent("#approve-"+id, chromedp.ByID),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			cookies, err = network.GetCookies().Do(ctx)
			return err
		}),
		chromedp.Navigate(f.url+"/console/communities"),
		chromedp.WaitVisible("svg circle", chromedp.ByQuery),
		chromedp.Text("table", &communitiesText, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(queueText, "community_profile") || !strings.Contains(queueText, "clean") {
		t.Fatalf("queue page shows %q", queueText)
	}
	// Each community says who is in it: interests, languages and skills with shares.
	if !strings.Contains(strings.ToLower(communitiesText), "who is in it") || !strings.Contains(communitiesText, "active ") ||
		!strings.Contains(communitiesText, "%") {
		t.Fatalf("communities page shows %.400q", communitiesText)
	}
	if len(cookies) != 1 || !cookies[0].HTTPOnly || !cookies[0].Secure || cookies[0].SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie %+v: want one Secure, HttpOnly, SameSite=Strict cookie", cookies)
	}
	if dir := os.Getenv("BELONG_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/console-communities.png", shot, 0o644)
	}

	code, body := call(t, f.key, "GET", f.url+"/v1/communities/"+community+"/content", "")
	items, _ := body["content"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Fatalf("after approving in the console, the API serves %d %v", code, body)
	}

	// A forged form post (valid session, no CSRF token) is refused and changes nothing.
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(f.url)
	session := signIn(t, f.url, reviewer)
	jar.SetCookies(u, []*http.Cookie{{Name: "belong_session", Value: session, Path: "/console"}})
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var other string
	if err := f.pool.QueryRow(ctx, `SELECT id::text FROM content_drafts WHERE status = 'draft' ORDER BY id LIMIT 1`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	resp, err := client.PostForm(f.url+"/console/drafts/"+other+"/approve", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("approve without a CSRF token: %d, want 403", resp.StatusCode)
	}
	if n := countRows(t, f.pool, "content_drafts WHERE id = "+other+" AND status = 'approved'"); n != 0 {
		t.Fatal("a forged form approved a draft")
	}
	// A sign-in form posted from elsewhere (no login CSRF token) is refused before the
	// key is even looked at: no login CSRF.
	resp, err = client.PostForm(f.url+"/console/login", url.Values{"email": {reviewer.email}, "password": {reviewer.password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without the form's token: %d, want 403", resp.StatusCode)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("no nosniff header: %v", resp.Header)
	}
	// A review key sees no member feedback (admin's, as in the API), and no pilots.
	if code, page := consoleGet(t, f.url+"/console/pilots", reviewer); code != http.StatusForbidden || !strings.Contains(page, "for admins") {
		t.Fatalf("pilots for a review key: %d", code)
	}
	csrf := sha256.Sum256([]byte("belong-console-csrf|" + session))
	// A form with a NUL or invalid UTF-8 is refused (400), never stored or "repaired".
	for _, reason := range []string{"no\x00pe", "bad\xffreason"} {
		resp, err = client.PostForm(f.url+"/console/drafts/"+other+"/reject", url.Values{"csrf": {hex.EncodeToString(csrf[:])}, "reason": {reason}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("reject with reason %q: %d, want 400", reason, resp.StatusCode)
		}
	}
	// Signing out ends the session on the server: the old cookie no longer works.
	resp, err = client.PostForm(f.url+"/console/logout", url.Values{"csrf": {hex.EncodeToString(csrf[:])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("sign out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	old := &http.Client{CheckRedirect: client.CheckRedirect}
	req, _ := http.NewRequest("GET", f.url+"/console/queue", nil)
	req.Header.Set("Cookie", "belong_session="+session)
	resp, err = old.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("the old cookie after sign-out: %d, want a redirect to sign-in", resp.StatusCode)
	}
}
