package api_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/belong-loyalty/belong/accounts"
)

//go:embed testdata/axe-4.14.1.min.js
var axeSource string

// violation is one axe-core finding.
type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeCheck runs axe-core on the page and reports serious and critical violations.
func axeCheck(t *testing.T, page string, vs *[]violation) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.Evaluate(axeSource, nil).Do(ctx); err != nil {
			return fmt.Errorf("load axe on %s: %w", page, err)
		}
		var found []violation
		err := chromedp.Evaluate(`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
			.filter(v => v.impact === 'serious' || v.impact === 'critical')
			.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))`,
			&found, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }).Do(ctx)
		if err != nil {
			return fmt.Errorf("run axe on %s: %w", page, err)
		}
		for _, v := range found {
			t.Errorf("axe on %s: %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
		}
		*vs = append(*vs, found...)
		return nil
	})
}

// shot saves a screenshot of the window when BELONG_SCREENSHOTS names a directory.
func shot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		dir := os.Getenv("BELONG_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		var png []byte
		if err := chromedp.CaptureScreenshot(&png).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(dir+"/"+name+".png", png, 0o644)
	})
}

// The console as a review team uses it (issue 17's walk): a named reviewer signs in,
// filters and pages the queue, approves in place with the keyboard (no reload), and
// meets a blocked draft it cannot approve; an admin overrides it with a reason,
// withdraws an approved draft (the API stops serving it), edits the brand settings
// (the guardrails use them at once), and opens a community from the map. axe-core
// finds no serious or critical violation on any page, and every page fits 390 px.
func TestConsoleReviewWalk(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := setup(t, 300)
	if _, err := f.svc.DraftCommunities(ctx, []string{"en", "sv", "it"}); err != nil {
		t.Fatal(err)
	}
	rows, err := f.pool.Query(ctx, `SELECT id FROM communities WHERE run_id = (SELECT run_id FROM current_run)`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids { // a prompt each, so there is more than a page
		if _, _, err := f.svc.DraftCommunity(ctx, "community_prompt", id, "en", "test"); err != nil {
			t.Fatal(err)
		}
	}
	var drafts, sv int
	if err := f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE locale = 'sv') FROM content_drafts WHERE status = 'draft'`).Scan(&drafts, &sv); err != nil {
		t.Fatal(err)
	}
	if drafts <= 25 {
		t.Fatalf("%d drafts: the walk needs more than a page", drafts)
	}
	// One draft carries personal data and a banned phrase: blocked.
	var blocked, community string
	if err := f.pool.QueryRow(ctx, `SELECT id::text, subject_id FROM content_drafts WHERE locale = 'en' ORDER BY id DESC LIMIT 1`).Scan(&blocked, &community); err != nil {
		t.Fatal(err)
	}
	code, b := call(t, f.key, "PUT", f.url+"/v1/content/drafts/"+blocked,
		`{"body":{"name":"Call Ana","description":"Write to ana@example.com or call +46 70 123 45 67","identity_line":"We show up."}}`)
	if code != 201 {
		t.Fatalf("edit: %d %v", code, b)
	}
	blocked = b["id"].(string)
	reviewer := newPerson(t, f.pool, accounts.RoleReviewer)

	bctx := newBrowser(t)
	var vs []violation
	var summary, filtered, page2, marker, rowStatus, rejected, blockedText string
	err = steps(bctx, t,
		emulation.SetDeviceMetricsOverride(1366, 900, 1, false),
		chromedp.Navigate(f.url+"/console/queue"),
		chromedp.WaitVisible("#email", chromedp.ByID),
		axeCheck(t, "sign-in", &vs),
		chromedp.SendKeys("#email", reviewer.email, chromedp.ByID),
		chromedp.SendKeys("#password", reviewer.password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#queue", chromedp.ByID),
		chromedp.Text("#summary", &summary, chromedp.ByID),
		shot("console-queue"),
		axeCheck(t, "queue", &vs),
		// Filter by locale, then page the unfiltered queue.
		chromedp.SetValue(`select[name="locale"]`, "sv", chromedp.ByQuery),
		chromedp.Click("#filter", chromedp.ByID),
		chromedp.WaitReady(`select[name="locale"] option[value="sv"][selected]`, chromedp.ByQuery),
		chromedp.WaitVisible("#queue", chromedp.ByID),
		chromedp.Text("#summary", &filtered, chromedp.ByID),
		chromedp.Navigate(f.url+"/console/queue"),
		chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible("#prev", chromedp.ByID),
		chromedp.Text("#summary", &page2, chromedp.ByID),
		// Approve the first draft with the keyboard, in place: the page is not reloaded.
		chromedp.Navigate(f.url+"/console/queue?kind=community_profile&locale=en"),
		chromedp.WaitVisible("#queue", chromedp.ByID),
		chromedp.Evaluate(`window.notReloaded = "yes"`, nil),
		chromedp.KeyEvent("j"), // the blocked draft, newest, has no approval
		chromedp.KeyEvent("j"),
		chromedp.KeyEvent("a"),
		chromedp.WaitVisible("tr.draft td.status-approved .note", chromedp.ByQuery),
		chromedp.Text("tr.draft td.status-approved", &rowStatus, chromedp.ByQuery),
		// The next draft is current now: r, a reason, Enter rejects it in place.
		chromedp.KeyEvent("r"),
		chromedp.KeyEvent("not our voice\r"),
		chromedp.WaitVisible("tr.draft td.status-rejected .note", chromedp.ByQuery),
		chromedp.Text("tr.draft td.status-rejected", &rejected, chromedp.ByQuery),
		chromedp.Evaluate(`window.notReloaded || "reloaded"`, &marker),
		// The blocked draft offers the reviewer no approval.
		chromedp.Navigate(f.url+"/console/queue?q=ana%40example.com"),
		chromedp.WaitVisible("#blocked-"+blocked, chromedp.ByID),
		chromedp.Text("#draft-"+blocked, &blockedText, chromedp.ByID),
		chromedp.Navigate(f.url+"/console/drafts/"+blocked+"/edit"),
		chromedp.WaitVisible("h1", chromedp.ByQuery),
		axeCheck(t, "edit", &vs),
		chromedp.Navigate(f.url+"/console/brand"),
		chromedp.WaitVisible("#brand-form", chromedp.ByID),
		axeCheck(t, "brand (reviewer)", &vs),
	)
	if err != nil {
		t.Fatalf("browser as a reviewer: %v", err)
	}
	if !strings.Contains(summary, fmt.Sprintf("%d drafts with status draft", drafts)) {
		t.Errorf("queue summary %q: want %d drafts", summary, drafts)
	}
	if !strings.Contains(filtered, fmt.Sprintf("%d draft", sv)) {
		t.Errorf("filtered by sv: %q, want %d", filtered, sv)
	}
	if !strings.Contains(page2, "page 2 of") {
		t.Errorf("after next: %q", page2)
	}
	if marker != "yes" || !strings.Contains(rowStatus, "approved") || !strings.Contains(rejected, "not our voice") {
		t.Fatalf("approve and reject with the keyboard: reload marker %q, rows %q and %q", marker, rowStatus, rejected)
	}
	if !strings.Contains(blockedText, "personal_data") || strings.Contains(blockedText, "Approve") {
		t.Fatalf("the blocked draft's row: %q", blockedText)
	}
	var approved string
	if err := f.pool.QueryRow(ctx, `SELECT d.id::text FROM content_drafts d JOIN content_reviews r ON r.draft_id = d.id
		WHERE r.action = 'approved' AND r.actor = $1`, "Test Reviewer <"+reviewer.email+">").Scan(&approved); err != nil {
		t.Fatalf("the keyboard approval is not audited under the reviewer's name: %v", err)
	}

	// An admin overrides the block with a reason, withdraws what the reviewer approved,
	// and saves brand settings.
	var overridden, withdrawn, saved, communityName string
	err = steps(bctx, t,
		chromedp.Navigate(f.url+"/console/queue"),
		chromedp.Click(`header button`, chromedp.ByQuery), // sign out
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.SendKeys("#email", f.admin.email, chromedp.ByID),
		chromedp.SendKeys("#password", f.admin.password, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#queue", chromedp.ByID),
		chromedp.Navigate(f.url+"/console/queue?q=ana%40example.com"),
		chromedp.WaitVisible("#override-"+blocked, chromedp.ByID),
		chromedp.SendKeys(`#override-form-`+blocked+` input[name="reason"]`, "Ana asked us to print her contact", chromedp.ByQuery),
		chromedp.Click("#override-"+blocked, chromedp.ByID),
		chromedp.WaitVisible("#draft-"+blocked+" .note", chromedp.ByQuery),
		chromedp.Text("#draft-"+blocked, &overridden, chromedp.ByID),
		chromedp.Navigate(f.url+"/console/queue?status=approved&kind=community_profile&locale=en"),
		chromedp.WaitVisible("#withdraw-"+approved, chromedp.ByID),
		chromedp.SendKeys(`#draft-`+approved+` input[placeholder="why withdraw it"]`, "renamed the community", chromedp.ByQuery),
		chromedp.Click("#withdraw-"+approved, chromedp.ByID),
		chromedp.WaitReady(`select[name="status"] option[value="withdrawn"][selected]`, chromedp.ByQuery),
		chromedp.WaitVisible("#queue", chromedp.ByID),
		chromedp.Text("main", &withdrawn, chromedp.ByQuery),
		chromedp.Navigate(f.url+"/console/brand"),
		chromedp.WaitVisible("#save-brand", chromedp.ByID),
		chromedp.SetValue("#banned", "smash it\nbeast mode", chromedp.ByID),
		chromedp.SetValue("#limits", "push 120, sms 160", chromedp.ByID),
		chromedp.Click("#save-brand", chromedp.ByID),
		chromedp.WaitVisible("#notice", chromedp.ByID),
		chromedp.Text("#notice", &saved, chromedp.ByID),
		shot("console-brand"),
		axeCheck(t, "brand (admin)", &vs),
		// The map's dots lead to their community.
		chromedp.Navigate(f.url+"/console/communities"),
		chromedp.WaitVisible("#legend", chromedp.ByID),
		axeCheck(t, "communities", &vs),
		chromedp.Click(`#community-map a`, chromedp.ByQuery),
		chromedp.WaitVisible("#community-name", chromedp.ByID),
		chromedp.Text("#community-name", &communityName, chromedp.ByID),
		shot("console-community"),
		axeCheck(t, "community", &vs),
	)
	if err != nil {
		t.Fatalf("browser as an admin: %v", err)
	}
	if !strings.Contains(overridden, "approved") {
		t.Fatalf("after the override: %q", overridden)
	}
	var reason string
	if err := f.pool.QueryRow(ctx, `SELECT reason FROM content_reviews WHERE draft_id = $1 AND action = 'approved'`, blocked).Scan(&reason); err != nil ||
		reason != "Ana asked us to print her contact" {
		t.Fatalf("the override's audited reason: %q %v", reason, err)
	}
	_, served := call(t, f.key, "GET", f.url+"/v1/communities/"+community+"/content", "")
	for _, c := range served["content"].([]any) {
		if c.(map[string]any)["id"] == approved {
			t.Fatalf("withdrawn draft %s is still served", approved)
		}
	}
	if !strings.Contains(saved, "version 1") || communityName == "" {
		t.Fatalf("brand saved: %q; community page: %q", saved, communityName)
	}
	// The guardrails use the saved settings at once.
	code, b = call(t, f.key, "PUT", f.url+"/v1/content/drafts/"+firstDraft(t, f), `{"body":{"prompt":"Ready to smash it?"}}`)
	if code != 201 || !strings.Contains(fmt.Sprint(b["findings"]), "banned_phrase") {
		t.Fatalf("an edit after the brand settings: %d %v", code, b)
	}

	// Every page, at 390 px: axe finds nothing serious, and nothing is wider than the
	// screen.
	pages := []string{"/console/queue", "/console/queue?status=", "/console/communities", "/console/communities/" + community,
		"/console/tribes", "/console/runs", "/console/trends", "/console/pilots", "/console/challenges", "/console/challenges/new",
		"/console/brand", "/console/people", "/console/drafts/" + blocked + "/edit"}
	if err := chromedp.Run(bctx, emulation.SetDeviceMetricsOverride(390, 844, 2, true)); err != nil {
		t.Fatal(err)
	}
	for i, path := range pages {
		var wide bool
		err := chromedp.Run(bctx,
			chromedp.Navigate(f.url+path),
			chromedp.WaitVisible("main", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &wide),
			axeCheck(t, path+" at 390 px", &vs),
		)
		if err != nil {
			t.Fatalf("%s at 390 px: %v", path, err)
		}
		if wide {
			t.Errorf("%s is wider than a 390 px screen", path)
		}
		if i == 0 {
			if err := chromedp.Run(bctx, shot("console-queue-390")); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// firstDraft is a community prompt draft to edit: one is requested if there is none.
func firstDraft(t *testing.T, f fixture) string {
	t.Helper()
	var community string
	if err := f.pool.QueryRow(t.Context(), `SELECT id FROM communities WHERE run_id = (SELECT run_id FROM current_run) LIMIT 1`).Scan(&community); err != nil {
		t.Fatal(err)
	}
	return requestDraft(t, f, f.key, `{"kind":"community_prompt","community_id":"`+community+`","locale":"en"}`)["id"].(string)
}

// steps runs actions one at a time, each within 20 s, and says which one failed.
func steps(bctx context.Context, t *testing.T, actions ...chromedp.Action) error {
	t.Helper()
	if err := chromedp.Run(bctx); err != nil { // the tab belongs to bctx, not to a step
		return err
	}
	for i, a := range actions {
		ctx, cancel := context.WithTimeout(bctx, 20*time.Second)
		err := chromedp.Run(ctx, a)
		cancel()
		if err != nil {
			return fmt.Errorf("step %d (%T %+v): %w", i+1, a, a, err)
		}
	}
	return nil
}
