package generation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

func TestDraftCommunitiesOncePerLocale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	zero := "[" + strings.TrimSuffix(strings.Repeat("0,", 256), ",") + "]"
	_, err := pool.Exec(ctx, `
		INSERT INTO cluster_runs (status, model, params) VALUES ('published', 'm', '{}');
		INSERT INTO communities (run_id, id, centroid, size, labels, name) VALUES
			(1, 'c-1', '`+zero+`', 20, '{yoga,meditation}', 'Yoga · Meditation'),
			(1, 'c-2', '`+zero+`', 30, '{padel}', 'Padel');
		INSERT INTO current_run (run_id) VALUES (1);`)
	if err != nil {
		t.Fatal(err)
	}
	n, err := generation.DraftCommunities(ctx, pool, generation.Template{}, []string{"en", "sv"}, nil)
	if err != nil || n != 4 {
		t.Fatalf("first pass wrote %d (err %v), want 4", n, err)
	}
	n, err = generation.DraftCommunities(ctx, pool, generation.Template{}, []string{"en", "sv"}, nil)
	if err != nil || n != 0 {
		t.Fatalf("second pass wrote %d (err %v), want 0", n, err)
	}
	ds, err := generation.ListDrafts(ctx, pool, generation.KindCommunityProfile, "c-1")
	if err != nil || len(ds) != 2 {
		t.Fatalf("drafts for c-1: %d (err %v)", len(ds), err)
	}
	for _, d := range ds {
		if d.Status != "draft" || d.Generator != "template" || d.Version != 1 || len(d.Body) < 10 {
			t.Errorf("draft %+v: want a version-1 template draft awaiting review", d)
		}
	}
}
