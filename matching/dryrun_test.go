package matching_test

import (
	"context"
	"testing"

	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

func TestSplitsAndMerges(t *testing.T) {
	t.Parallel()
	tr := func(from, to string, n int) matching.Transition {
		return matching.Transition{FromID: from, FromName: "old " + from, ToID: to, ToName: "new " + to, Members: n}
	}
	splits, merges := matching.SplitsAndMerges([]matching.Transition{
		// c-1 splits in two (and a stray member goes elsewhere).
		tr("c-1", "c-1", 20), tr("c-1", "c-9", 18), tr("c-1", "c-5", 1),
		// c-2 and c-3 merge into c-4.
		tr("c-2", "c-4", 30), tr("c-3", "c-4", 25),
		// c-5 only loses a few members to c-6: neither a split nor a merge.
		tr("c-5", "c-5", 40), tr("c-5", "c-6", 4),
		// c-7 goes to c-8 with a single member elsewhere: too few to count.
		tr("c-7", "c-8", 2), tr("c-7", "c-10", 1),
	})
	if len(splits) != 1 || splits[0].ID != "c-1" || splits[0].Name != "old c-1" || splits[0].Members != 39 ||
		len(splits[0].Into) != 2 || splits[0].Into[0] != (matching.Part{ID: "c-1", Name: "new c-1", Members: 20}) ||
		splits[0].Into[1].ID != "c-9" {
		t.Fatalf("splits %+v, want c-1 into c-1 (20) and c-9 (18)", splits)
	}
	if len(merges) != 1 || merges[0].ID != "c-4" || merges[0].Name != "new c-4" || merges[0].Members != 55 ||
		len(merges[0].From) != 2 || merges[0].From[0] != (matching.Part{ID: "c-2", Name: "old c-2", Members: 30}) {
		t.Fatalf("merges %+v, want c-4 from c-2 (30) and c-3 (25)", merges)
	}
	// A split whose sizeable parts hold less than half is not one.
	splits, _ = matching.SplitsAndMerges([]matching.Transition{tr("c-1", "a", 4), tr("c-1", "b", 4),
		tr("c-1", "c", 3), tr("c-1", "d", 3), tr("c-1", "e", 3), tr("c-1", "f", 3)})
	if len(splits) != 0 {
		t.Fatalf("scattered: %+v, want no split (no part holds a fifth)", splits)
	}
	if s, m := matching.SplitsAndMerges(nil); s == nil || m == nil || len(s)+len(m) != 0 {
		t.Fatalf("no transitions: %v %v, want empty lists", s, m)
	}
}

// A dry run with a much smaller target size reports splits, one with a much larger
// target merges, each against the current run's sizes; neither publishes anything.
func TestDryRunReportsSplitsAndMerges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	loadDemo(t, pool, 1200)
	res, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := runOf(t, pool)
	runs, comms := runCounts(t, pool)
	dry := func(target, lo, hi int) *matching.DryRunReport {
		t.Helper()
		r, err := (&matching.Job{DB: pool, Config: matching.JobConfig{DryRun: true,
			Cluster: clustering.ClusterConfig{TargetSize: target, MinSize: lo, MaxSize: hi, Seed: 1}}}).RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := r.DryRun
		if d == nil || d.Current == nil || d.Current.Communities != res.Communities {
			t.Fatalf("dry run at target %d: %+v, want the current run's %d communities beside it", target, d, res.Communities)
		}
		n := 0
		for _, b := range d.CurrentSizes {
			n += b.Communities
		}
		if n != res.Communities {
			t.Fatalf("current sizes count %d communities, want %d", n, res.Communities)
		}
		return d
	}

	smaller := dry(10, 5, 20)
	if len(smaller.Splits) < res.Communities/2 {
		t.Fatalf("target 10 (from 40): %d splits of %d communities, want most split", len(smaller.Splits), res.Communities)
	}
	for _, s := range smaller.Splits {
		if len(s.Into) < 2 || s.Name == "" || s.Into[0].Members < s.Into[1].Members {
			t.Fatalf("split %+v: want two or more parts, most first", s)
		}
	}
	t.Logf("target 10: %d splits, %d merges of %d communities", len(smaller.Splits), len(smaller.Merges), res.Communities)
	larger := dry(160, 40, 400)
	t.Logf("target 160: %d merges, %d splits", len(larger.Merges), len(larger.Splits))
	if len(larger.Merges) == 0 || len(larger.Merges[0].From) < 2 {
		t.Fatalf("target 160 (from 40): merges %+v, want communities drawn from several", larger.Merges)
	}
	if len(larger.Merges) <= len(larger.Splits) || len(smaller.Splits) <= len(smaller.Merges) {
		t.Fatalf("larger: %d merges, %d splits; smaller: %d splits, %d merges", len(larger.Merges), len(larger.Splits),
			len(smaller.Splits), len(smaller.Merges))
	}
	if r, c := runCounts(t, pool); runOf(t, pool) != before || r != runs || c != comms {
		t.Fatalf("after dry runs: current run %d (was %d), %d runs (%d), %d communities (%d)", runOf(t, pool), before, r, runs, c, comms)
	}
}
