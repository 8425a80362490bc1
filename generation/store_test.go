package generation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// draftAndStore composes a draft and stores it, as the use cases do (the model call
// outside the transaction that stores it).
func draftAndStore(t *testing.T, dr generation.Drafting, db database.DBTX, r generation.Request, memberID string, others []string, actor string) (generation.Draft, error) {
	t.Helper()
	d, err := dr.Compose(context.Background(), r, memberID, others)
	if err != nil {
		return d, err
	}
	return d, generation.Store(context.Background(), db, &d, actor)
}

// seedRun publishes a tiny run with two communities and returns the pool.
func seedRun(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := dbtest.Schema(t)
	zero := "[" + strings.TrimSuffix(strings.Repeat("0,", 256), ",") + "]"
	_, err := pool.Exec(context.Background(), `
		INSERT INTO cluster_runs (status, model, params) VALUES ('published', 'm', '{}');
		INSERT INTO communities (run_id, id, centroid, size, labels, name) VALUES
			(1, 'c-1', '`+zero+`', 20, '{yoga,meditation}', 'Yoga · Meditation'),
			(1, 'c-2', '`+zero+`', 30, '{padel}', 'Padel');
		INSERT INTO current_run (run_id) VALUES (1);
		INSERT INTO members (id, name, consent_personalization) VALUES ('m-1', 'Ana Lindqvist', true);`)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

func TestCommunityProfilesOncePerLocale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seedRun(t)
	dr := generation.Drafting{}
	todo, err := generation.CommunitiesToDraft(ctx, pool, []string{"en", "sv"})
	if err != nil || len(todo) != 4 {
		t.Fatalf("first pass found %d to draft (err %v), want 4", len(todo), err)
	}
	var first generation.Draft
	for i, r := range todo {
		d, err := dr.Compose(ctx, r, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if stored, err := generation.StoreOnce(ctx, pool, &d, "generator"); err != nil || !stored {
			t.Fatalf("store %s/%s: stored %v, %v", r.Community.ID, r.Locale, stored, err)
		}
		if i == 0 {
			first = d
		}
	}
	if todo, err = generation.CommunitiesToDraft(ctx, pool, []string{"en", "sv"}); err != nil || len(todo) != 0 {
		t.Fatalf("second pass found %d (err %v), want 0", len(todo), err)
	}
	// A retried job that composed the same profile again stores nothing.
	again := first
	again.ID = 0
	if stored, err := generation.StoreOnce(ctx, pool, &again, "generator"); err != nil || stored {
		t.Fatalf("a second profile for %s/%s: stored %v, %v; want nothing stored", first.SubjectID, first.Locale, stored, err)
	}
	ds, err := generation.Queue(ctx, pool, generation.Filter{Community: "c-1"})
	if err != nil || len(ds) != 2 {
		t.Fatalf("queue for c-1: %d (err %v)", len(ds), err)
	}
	for _, d := range ds {
		if d.Status != "draft" || d.Generator != "template" || d.Version != 1 || d.Body["identity_line"] == nil {
			t.Errorf("draft %+v: want a version-1 template draft awaiting review", d)
		}
	}
}

func TestReviewStateMachine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seedRun(t)
	dr := generation.Drafting{Brand: generation.Brand{Banned: []string{"crush it"}}}
	c1 := generation.CommunityFacts{ID: "c-1", Name: "Yoga · Meditation", Labels: []string{"yoga", "meditation"}, Size: 20}
	prompt, err := draftAndStore(t, dr, pool, generation.Request{Kind: generation.KindCommunityPrompt, Locale: "en", Community: c1}, "", nil, "tester")
	if err != nil {
		t.Fatal(err)
	}
	served := func(community, member, kind string) int {
		ds, err := generation.Approved(ctx, pool, community, member, kind, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if served("c-1", "", "") != 0 {
		t.Fatal("a draft is served before approval")
	}

	// An edit makes version 2 with fresh findings; version 1 can no longer be decided.
	edited, err := generation.Edit(ctx, pool, prompt.ID, generation.Body{"prompt": "Ready to crush it?"}, dr.Brand.Guardrails(), "reviewer")
	if err != nil {
		t.Fatal(err)
	}
	if edited.Version != 2 || len(edited.Findings) == 0 || edited.Findings[0].Rule != "banned_phrase" {
		t.Fatalf("edit: %+v", edited)
	}
	if err := decide(ctx, pool, []int64{prompt.ID}, generation.Decision{Approve: true, Reason: "", Actor: "reviewer"}); !errors.Is(err, generation.ErrState) {
		t.Fatalf("approving a superseded version: %v", err)
	}
	if err := decide(ctx, pool, []int64{edited.ID}, generation.Decision{Approve: false, Reason: "", Actor: "reviewer"}); !errors.Is(err, generation.ErrReasonRequired) {
		t.Fatalf("rejecting without a reason: %v", err)
	}
	if err := decide(ctx, pool, []int64{edited.ID}, generation.Decision{Approve: false, Reason: "off-brand", Actor: "reviewer"}); err != nil {
		t.Fatal(err)
	}
	if err := decide(ctx, pool, []int64{edited.ID}, generation.Decision{Approve: true, Reason: "", Actor: "reviewer"}); !errors.Is(err, generation.ErrState) {
		t.Fatalf("approving a rejected draft: %v", err)
	}

	// A recognition for a member: guardrails see the surname; approval serves it.
	rec, err := draftAndStore(t, dr, pool, generation.Request{Kind: generation.KindRecognition, Locale: "en", Community: c1,
		FirstName: "Ana", Occasion: "streak", Detail: "30 days"}, "m-1", []string{"Lindqvist"}, "tester")
	if err != nil {
		t.Fatal(err)
	}
	profile, err := draftAndStore(t, dr, pool, generation.Request{Kind: generation.KindCommunityProfile, Locale: "en", Community: c1}, "", nil, "tester")
	if err != nil {
		t.Fatal(err)
	}
	// Bulk approval is all or nothing: one bad id leaves both unapproved.
	if err := decide(ctx, pool, []int64{rec.ID, edited.ID}, generation.Decision{Approve: true, Reason: "", Actor: "lead"}); err == nil {
		t.Fatal("bulk approval with a rejected draft succeeded")
	}
	if served("", "m-1", generation.KindRecognition) != 0 {
		t.Fatal("a failed bulk approval approved something")
	}
	if err := decide(ctx, pool, []int64{rec.ID, profile.ID}, generation.Decision{Approve: true, Reason: "", Actor: "lead"}); err != nil {
		t.Fatal(err)
	}
	if served("", "m-1", generation.KindRecognition) != 1 || served("c-1", "", "") != 1 || served("c-2", "", "") != 0 {
		t.Fatal("approved content not served where it belongs")
	}

	// The audit trail of the prompt: created, edited, rejected — who and what.
	hist, err := generation.History(ctx, pool, prompt.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	actions := []string{}
	for _, h := range hist {
		actions = append(actions, h.Action+":"+h.Actor)
	}
	if strings.Join(actions, ",") != "created:tester,edited:reviewer,rejected:reviewer" {
		t.Fatalf("history %v", actions)
	}
	if hist[1].Changes["prompt"] == nil || hist[2].Reason != "off-brand" {
		t.Fatalf("history lacks what changed or why: %+v", hist)
	}
}

func decide(ctx context.Context, db database.DBTX, ids []int64, dec generation.Decision) error {
	_, err := generation.Decide(ctx, db, ids, dec)
	return err
}

// Governance: a draft with blocking findings is not approved without an override,
// which needs a reason and is audited with the rules it overrode; an edit of approved
// content leaves it served until the edit is approved in its place, which supersedes
// it; the brand settings in force are the environment's until a version is saved.
func TestGovernance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seedRun(t)
	def := generation.Brand{Banned: []string{"crush it"}}
	b, err := generation.CurrentBrand(ctx, pool, def)
	if err != nil || b.Version != 0 || b.Banned[0] != "crush it" {
		t.Fatalf("before any save: %+v %v, want the environment's as version 0", b, err)
	}
	saved, err := generation.SaveBrand(ctx, pool, generation.Brand{Banned: []string{" beast mode ", "", "Beast Mode", "smash"},
		Voice: "Warm and plain.", Tone: "encouraging", ChannelLimits: map[string]int{"push": 60}}, "Ana Lima <ana@brand.example>")
	if err != nil || saved.Version != 1 || len(saved.Banned) != 2 || saved.Banned[0] != "beast mode" {
		t.Fatalf("save: %+v %v, want version 1 with two tidy phrases", saved, err)
	}
	if b, _ = generation.CurrentBrand(ctx, pool, def); b.Version != 1 || b.Tone != "encouraging" || b.ChannelLimits["push"] != 60 {
		t.Fatalf("in force after a save: %+v", b)
	}
	for name, bad := range map[string]generation.Brand{
		"channel name": {ChannelLimits: map[string]int{"Push Notification": 60}},
		"zero limit":   {ChannelLimits: map[string]int{"sms": 0}},
		"long phrase":  {Banned: []string{strings.Repeat("x", 101)}},
		"tone lines":   {Tone: "warm\nand\nkind"},
	} {
		if _, err := generation.SaveBrand(ctx, pool, bad, "x"); !errors.Is(err, generation.ErrBrand) {
			t.Errorf("%s: %v, want ErrBrand", name, err)
		}
	}
	dr := generation.Drafting{Brand: b}
	c1 := generation.CommunityFacts{ID: "c-1", Name: "Yoga · Meditation", Labels: []string{"yoga", "meditation"}, Size: 20}
	rec, err := draftAndStore(t, dr, pool, generation.Request{Kind: generation.KindRecognition, Locale: "en", Community: c1,
		FirstName: "Ana", Occasion: "streak", Detail: "30 days"}, "m-1", nil, "tester")
	if err != nil {
		t.Fatal(err)
	}
	// The template message is longer than 60: a warning, not a block.
	if len(rec.Findings) != 1 || rec.Findings[0].Rule != "channel_length" || rec.Findings[0].Severity != generation.SeverityWarn {
		t.Fatalf("findings %+v: want the push length as a warning", rec.Findings)
	}
	blocked, err := generation.Edit(ctx, pool, rec.ID, generation.Body{"message": "Ana, beast mode! Call +46 70 123 45 67 for 20% off.",
		"occasion": "streak"}, b.Guardrails(), "reviewer")
	if err != nil {
		t.Fatal(err)
	}
	if got := generation.Blocking(blocked.Findings); len(got) < 3 {
		t.Fatalf("blocking findings %+v: want the banned phrase, the phone number and the bargain", got)
	}
	if err := decide(ctx, pool, []int64{blocked.ID}, generation.Decision{Approve: true, Actor: "reviewer"}); !errors.Is(err, generation.ErrBlocked) {
		t.Fatalf("approving a blocked draft: %v", err)
	}
	if err := decide(ctx, pool, []int64{blocked.ID}, generation.Decision{Approve: true, Override: true, Actor: "admin"}); !errors.Is(err, generation.ErrReasonRequired) {
		t.Fatalf("an override without a reason: %v", err)
	}
	if err := decide(ctx, pool, []int64{blocked.ID}, generation.Decision{Approve: true, Override: true, Reason: "the member asked to be called", Actor: "admin"}); err != nil {
		t.Fatal(err)
	}
	hist, err := generation.History(ctx, pool, blocked.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.Action != "approved" || last.Reason != "the member asked to be called" || !strings.Contains(fmt.Sprint(last.Changes), "banned_phrase") {
		t.Fatalf("the override's audit: %+v", last)
	}

	// Superseding: v2 is approved and served; an edit (v3) waits while v2 is served;
	// approving v3 supersedes v2.
	fixed, err := generation.Edit(ctx, pool, blocked.ID, generation.Body{"message": "Ana, 30 days in a row!", "occasion": "streak"}, b.Guardrails(), "reviewer")
	if err != nil || fixed.Version != 3 {
		t.Fatalf("edit approved content: %+v %v", fixed, err)
	}
	served, err := generation.Approved(ctx, pool, "", "m-1", generation.KindRecognition, "")
	if err != nil || len(served) != 1 || served[0].ID != blocked.ID {
		t.Fatalf("while the edit waits: %+v %v, want version 2 still served", served, err)
	}
	out, err := generation.Decide(ctx, pool, []int64{fixed.ID}, generation.Decision{Approve: true, Actor: "reviewer"})
	if err != nil || len(out.Superseded) != 1 || out.Superseded[0].ID != blocked.ID || out.Superseded[0].Status != generation.StatusSuperseded {
		t.Fatalf("approve the edit: %+v %v", out, err)
	}
	if served, _ = generation.Approved(ctx, pool, "", "m-1", generation.KindRecognition, ""); len(served) != 1 || served[0].ID != fixed.ID {
		t.Fatalf("after approving the edit: %+v, want only version 3", served)
	}
	if _, err := generation.Edit(ctx, pool, blocked.ID, generation.Body{"message": "x", "occasion": "streak"}, b.Guardrails(), "r"); !errors.Is(err, generation.ErrNotEditable) {
		t.Fatalf("editing a superseded version: %v", err)
	}
}
