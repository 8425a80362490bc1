package generation_test

import (
	"context"
	"errors"
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
	dr := generation.Drafting{Guardrails: generation.Guardrails{Banned: []string{"crush it"}}}
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
	edited, err := generation.Edit(ctx, pool, prompt.ID, generation.Body{"prompt": "Ready to crush it?"}, dr.Guardrails, "reviewer")
	if err != nil {
		t.Fatal(err)
	}
	if edited.Version != 2 || len(edited.Findings) == 0 || edited.Findings[0].Rule != "banned_phrase" {
		t.Fatalf("edit: %+v", edited)
	}
	if err := generation.Decide(ctx, pool, []int64{prompt.ID}, true, "", "reviewer"); !errors.Is(err, generation.ErrState) {
		t.Fatalf("approving a superseded version: %v", err)
	}
	if err := generation.Decide(ctx, pool, []int64{edited.ID}, false, "", "reviewer"); !errors.Is(err, generation.ErrReasonRequired) {
		t.Fatalf("rejecting without a reason: %v", err)
	}
	if err := generation.Decide(ctx, pool, []int64{edited.ID}, false, "off-brand", "reviewer"); err != nil {
		t.Fatal(err)
	}
	if err := generation.Decide(ctx, pool, []int64{edited.ID}, true, "", "reviewer"); !errors.Is(err, generation.ErrState) {
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
	if err := generation.Decide(ctx, pool, []int64{rec.ID, edited.ID}, true, "", "lead"); err == nil {
		t.Fatal("bulk approval with a rejected draft succeeded")
	}
	if served("", "m-1", generation.KindRecognition) != 0 {
		t.Fatal("a failed bulk approval approved something")
	}
	if err := generation.Decide(ctx, pool, []int64{rec.ID, profile.ID}, true, "", "lead"); err != nil {
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
