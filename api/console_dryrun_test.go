package api_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/belong-loyalty/belong/accounts"
	"github.com/belong-loyalty/belong/generation"
)

// newBrowser starts headless Chromium for one test, closed at its end.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: make test installs Debian's chromium (scripts/deps.sh)", chromium)
	}
	// Removed best-effort: Chromium may still be writing its profile as it exits.
	profile, err := os.MkdirTemp("", "belong-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(profile))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	bctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(profile)
	})
	return bctx
}

// An admin requests a dry run from the console's runs page, reads its report once
// the job has computed it, and publishes it; a community's page says who is in it
// and what content it has. Reviewers may do neither, and forms need their token.
func TestConsoleDryRunAndCommunityPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 300) // clustered at target size 40
	if _, err := f.svc.DraftCommunities(ctx, []string{"en"}); err != nil {
		t.Fatal(err)
	}
	var draft int64
	var community, name string
	if err := f.pool.QueryRow(ctx, `SELECT d.id, d.subject_id, c.name FROM content_drafts d
		JOIN communities c ON c.id = d.subject_id AND c.run_id = (SELECT run_id FROM current_run)
		ORDER BY d.id LIMIT 1`).Scan(&draft, &community, &name); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Decide(ctx, []int64{draft}, generation.Decision{Approve: true, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	var approvedName string
	if err := f.pool.QueryRow(ctx, `SELECT body->>'name' FROM content_drafts WHERE id = $1`, draft).Scan(&approvedName); err != nil || approvedName == "" {
		t.Fatalf("approved draft has no name (%v)", err)
	}
	var firstNames []string
	rows, err := f.pool.Query(ctx, `SELECT split_part(m.name, ' ', 1) FROM memberships ms JOIN members m ON m.id = ms.member_id
		WHERE ms.run_id = (SELECT run_id FROM current_run) AND ms.community_id = $1 AND ms.rank = 1
		AND m.consent_community AND m.consent_personalization`, community)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		firstNames = append(firstNames, n)
	}
	rows.Close()
	before := runID(t, f)

	bctx := newBrowser(t)
	var communityText, dryURL, status, report, published string
	err = chromedp.Run(bctx,
		chromedp.Navigate(f.url+"/console/communities"),
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.SendKeys("#email", f.admin.email, chromedp.ByID),
		chromedp.SendKeys("#password", f.admin.password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#queue", chromedp.ByID),
		chromedp.Navigate(f.url+"/console/communities"),
		chromedp.WaitVisible("svg a circle", chromedp.ByQuery),
		chromedp.Click(`a[id="community-`+community+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#composition", chromedp.ByID),
		chromedp.Text("main", &communityText, chromedp.ByQuery),

		chromedp.Navigate(f.url+"/console/runs"),
		chromedp.WaitVisible("#dry-run-form", chromedp.ByID),
		chromedp.SetValue("#target_size", "15", chromedp.ByID),
		chromedp.SetValue("#min_size", "6", chromedp.ByID),
		chromedp.SetValue("#max_size", "40", chromedp.ByID),
		chromedp.Click("#request-dry-run", chromedp.ByID),
		chromedp.WaitVisible("#dry-run-status", chromedp.ByID),
		chromedp.Location(&dryURL),
		chromedp.Text("#dry-run-status", &status, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	for _, want := range []string{name, "Interests", "Languages", "Skill levels", "Most share", "Active in 30 days", "%", approvedName, "Waiting for review"} {
		if !strings.Contains(strings.ToLower(communityText), strings.ToLower(want)) { // headers are upper-cased by CSS
			t.Errorf("the community page lacks %q: %.800q", want, communityText)
		}
	}
	// The page shows a few of them, whichever: at least one must be there.
	if len(firstNames) > 0 && !slices.ContainsFunc(firstNames, func(n string) bool { return strings.Contains(communityText, n) }) {
		t.Errorf("the community page shows none of its consenting members (%v)", firstNames)
	}
	if !strings.Contains(dryURL, "/console/dry-runs/") || (status != "queued" && status != "running" && status != "done") {
		t.Fatalf("after requesting a dry run: %s, status %q", dryURL, status)
	}

	var vs []violation
	f.settle(t)
	var shot []byte
	err = chromedp.Run(bctx,
		chromedp.Navigate(dryURL),
		chromedp.WaitVisible("#summary", chromedp.ByID),
		axeCheck(t, "a dry run", &vs),
		chromedp.Text("main", &report, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
		chromedp.Click("#publish", chromedp.ByID),
		chromedp.WaitVisible("#published", chromedp.ByID),
		chromedp.Text("#published", &published, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if dir := os.Getenv("BELONG_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/console-dry-run.png", shot, 0o644)
	}
	// Target 15 against a run at 40: communities split, and the page says which.
	for _, want := range []string{"done", "Churn", "Births / deaths", "Splits (", "Merges (", "Renamed (", "Size distribution", "Would go to"} {
		if !strings.Contains(strings.ToLower(report), strings.ToLower(want)) {
			t.Errorf("the dry run's page lacks %q: %.1200q", want, report)
		}
	}
	if strings.Contains(report, "Splits (0)") {
		t.Errorf("no splits at target 15 against 40: %.1200q", report)
	}
	if runID(t, f) != before {
		t.Fatal("the dry run changed the current run before it was published")
	}
	if !strings.Contains(published, "queued for publication") {
		t.Fatalf("after publishing: %q", published)
	}
	f.settle(t)
	var target float64
	if err := f.pool.QueryRow(ctx, `SELECT (params->>'target_size')::float8 FROM cluster_runs WHERE id = (SELECT run_id FROM current_run)`).Scan(&target); err != nil {
		t.Fatal(err)
	}
	if runID(t, f) == before || target != 15 {
		t.Fatalf("after the publication's job: run %d (was %d) at target %v, want a new run at 15", runID(t, f), before, target)
	}

	// Forms: a reviewer may not request or read dry runs; nobody may without the
	// form's token; a bad setting is refused with its reason. None writes anything.
	dryRuns := countRows(t, f.pool, "dry_runs")
	post := func(who person, path string, form url.Values, withCSRF bool) (int, string) {
		t.Helper()
		return consolePost(t, f.url, who, path, form, withCSRF)
	}
	reviewer := newPerson(t, f.pool, accounts.RoleReviewer)
	if code, body := post(reviewer, "/console/dry-runs", url.Values{"target_size": {"20"}}, true); code != http.StatusForbidden || !strings.Contains(body, "for admins") {
		t.Errorf("a reviewer's dry run: %d", code)
	}
	if code, _ := consoleGet(t, f.url+"/console/dry-runs/1", reviewer); code != http.StatusForbidden {
		t.Errorf("a reviewer reads a dry run: %d, want 403", code)
	}
	if code, body := consoleGet(t, f.url+"/console/runs", reviewer); code != 200 || strings.Contains(body, "dry-run-form") {
		t.Errorf("a reviewer's runs page: %d, with the dry run form: %v", code, strings.Contains(body, "dry-run-form"))
	}
	if code, _ := post(f.admin, "/console/dry-runs", url.Values{"target_size": {"20"}}, false); code != http.StatusForbidden {
		t.Errorf("a dry run without the form's token: %d, want 403", code)
	}
	if code, body := post(f.admin, "/console/dry-runs", url.Values{"min_size": {"20"}, "target_size": {"30"}, "max_size": {"30"}}, true); code != http.StatusBadRequest ||
		!strings.Contains(body, "at least twice min_size") || !strings.Contains(body, `value="30"`) {
		t.Errorf("max below twice min: %d", code)
	}
	if code, body := post(f.admin, "/console/dry-runs", url.Values{"target_size": {"ten"}}, true); code != http.StatusBadRequest || !strings.Contains(body, "whole number") {
		t.Errorf("a target size that is not a number: %d", code)
	}
	if code, body := post(f.admin, strings.TrimPrefix(dryURL, f.url)+"/publish", url.Values{}, true); code != http.StatusConflict || !strings.Contains(body, "published already") {
		t.Errorf("publishing twice: %d", code)
	}
	if n := countRows(t, f.pool, "dry_runs"); n != dryRuns {
		t.Fatalf("refused forms wrote dry runs: %d, was %d", n, dryRuns)
	}
}
