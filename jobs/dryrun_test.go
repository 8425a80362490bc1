package jobs_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/internal/openaitest"
	"github.com/belong-loyalty/belong/service"
)

// A requested dry run is computed by its job, which stores the report and publishes
// nothing; publishing it queues a cluster job that publishes a run with its settings.
func TestDryRunJobStoresItsReportAndPublishes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chat := openaitest.NewChat(t, func(_ int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable) // drafts of new communities are not what this tests
	})
	b := setup(t, chat)
	current := func() (run int64, runs int) {
		t.Helper()
		if err := b.svc.DB.QueryRow(ctx, "SELECT (SELECT run_id FROM current_run), (SELECT count(*) FROM cluster_runs)").Scan(&run, &runs); err != nil {
			t.Fatal(err)
		}
		return run, runs
	}
	before, runs := current()
	target, lo, hi := 12, 5, 30
	d, err := b.svc.RequestDryRun(ctx, service.ClusterSettings{TargetSize: &target, MinSize: &lo, MaxSize: &hi}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != service.DryRunQueued || d.JobID == nil || d.Report != nil {
		t.Fatalf("requested: %+v, want queued with its job and no report", d)
	}
	b.startWorkers(t)
	waitFor(t, "the dry run", func() bool {
		d, err = b.svc.GetDryRun(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		return d.Status == service.DryRunDone || d.Status == service.DryRunFailed
	})
	if d.Status != service.DryRunDone || d.Metrics == nil || d.Report == nil || d.FinishedAt == nil || d.Error != "" {
		t.Fatalf("dry run: %+v", d)
	}
	if d.Settings.TargetSize != 12 || d.Settings.MinSize != 5 || d.Settings.MaxSize != 30 {
		t.Fatalf("settings %+v, want the requested sizes", d.Settings)
	}
	// The current run was clustered at 30: target 12 splits communities.
	if d.Metrics.Communities == 0 || len(d.Report.Splits) == 0 || d.Report.Current == nil || d.Report.Current.Communities >= d.Metrics.Communities {
		t.Fatalf("report: %d communities, %+v", d.Metrics.Communities, d.Report)
	}
	if run, n := current(); run != before || n != runs {
		t.Fatalf("after the dry run: current run %d (was %d), %d runs (was %d)", run, before, n, runs)
	}

	job, err := b.svc.PublishDryRun(ctx, d.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.PublishDryRun(ctx, d.ID, "test"); err == nil {
		t.Fatal("a dry run was published twice")
	}
	waitFor(t, "the published run", func() bool { run, _ := current(); return run != before })
	var communities int
	var params map[string]any
	if err := b.svc.DB.QueryRow(ctx, `SELECT (metrics->>'communities')::int, params FROM cluster_runs
		WHERE id = (SELECT run_id FROM current_run)`).Scan(&communities, &params); err != nil {
		t.Fatal(err)
	}
	if communities != d.Metrics.Communities || params["target_size"] != float64(12) {
		t.Fatalf("published run: %d communities with %v; the dry run had %d at target 12", communities, params, d.Metrics.Communities)
	}
	if d, err = b.svc.GetDryRun(ctx, d.ID); err != nil || d.Published == nil || d.Published.JobID != job {
		t.Fatalf("dry run after publishing: %+v, %v", d, err)
	}
	// The published settings stick: the next night, and the next dry run, start
	// from them, not from the server's.
	cur, err := b.svc.CurrentSettings(ctx)
	if err != nil || cur.TargetSize != 12 || cur.MinSize != d.Settings.MinSize || cur.MaxSize != d.Settings.MaxSize {
		t.Fatalf("current settings after publishing %+v: %+v, %v", d.Settings, cur, err)
	}
	if _, err := b.svc.DB.Exec(ctx, "UPDATE member_vectors SET embedded_at = now() WHERE member_id = (SELECT min(member_id) FROM member_vectors)"); err != nil {
		t.Fatal(err)
	}
	published, _ := current()
	if err := b.svc.Nightly(ctx); err != nil {
		t.Fatal(err)
	}
	var nightly map[string]any
	if err := b.svc.DB.QueryRow(ctx, `SELECT params FROM cluster_runs WHERE id = (SELECT run_id FROM current_run)`).Scan(&nightly); err != nil {
		t.Fatal(err)
	}
	if run, _ := current(); run == published || nightly["target_size"] != float64(12) {
		t.Fatalf("the nightly run after publishing (run %d, was %d) clustered with %v, want target 12", run, published, nightly)
	}
	next, err := b.svc.RequestDryRun(ctx, service.ClusterSettings{}, "test")
	if err != nil || next.Settings.TargetSize != 12 {
		t.Fatalf("a dry run with no changes: %+v, %v; want the published target 12", next.Settings, err)
	}
}

// A dry run whose job will never run again (its worker killed during the last
// attempt leaves it discarded, with the row still "running") reads as failed, and
// reading it changes nothing.
func TestLostDryRunReadsAsFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chat := openaitest.NewChat(t, func(_ int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	b := setup(t, chat)
	d, err := b.svc.RequestDryRun(ctx, service.ClusterSettings{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	// No worker runs: the row is queued until its job is discarded.
	if _, err := b.svc.DB.Exec(ctx, "UPDATE dry_runs SET status = 'running', started_at = now() WHERE id = $1", d.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := b.svc.GetDryRun(ctx, d.ID); err != nil || got.Status != service.DryRunRunning {
		t.Fatalf("while its job may still run: %+v, %v", got, err)
	}
	if _, err := b.svc.DB.Exec(ctx, "UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1", *d.JobID); err != nil {
		t.Fatal(err)
	}
	got, err := b.svc.GetDryRun(ctx, d.ID)
	if err != nil || got.Status != service.DryRunFailed || !strings.Contains(got.Error, "request it again") {
		t.Fatalf("after its job was discarded: %+v, %v", got, err)
	}
	list, err := b.svc.DryRuns(ctx, 0, 10)
	if err != nil || len(list) != 1 || list[0].Status != service.DryRunFailed {
		t.Fatalf("listed: %+v, %v", list, err)
	}
	var stored string
	if err := b.svc.DB.QueryRow(ctx, "SELECT status FROM dry_runs WHERE id = $1", d.ID).Scan(&stored); err != nil || stored != "running" {
		t.Fatalf("reading wrote the row: %q, %v", stored, err)
	}
	if _, err := b.svc.PublishDryRun(ctx, d.ID, "test"); err == nil {
		t.Fatal("a lost dry run was published")
	}
}
