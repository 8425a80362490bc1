package fleet

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// memberships reads the current run's primary community of every member.
func memberships(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT m.member_id, m.community_id FROM memberships m
		JOIN current_run c ON c.run_id = m.run_id WHERE m.rank = 1`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var member, community string
		if err := rows.Scan(&member, &community); err != nil {
			t.Fatal(err)
		}
		out[member] = community
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Three workers share the nightly pipeline: its embedding shards spread over them, one
// is killed in the middle of a shard, the shard runs again on another, nothing is
// counted twice, and the run they publish is the run one process publishes from the
// same data and seed.
func TestDistributedNightly(t *testing.T) {
	ctx := context.Background()
	// The same brand twice: one for the workers, one for a single process.
	shared, single := freshDatabase(t), freshDatabase(t)
	for _, url := range []string{shared, single} {
		env := []string{"DATABASE_URL=" + url}
		belong(t, env, "", "migrate")
		belong(t, env, "", "demo", "-members", "3000")
	}
	env := []string{"DATABASE_URL=" + single}
	belong(t, env, "", "embed")
	belong(t, env, "", "cluster")
	want := memberships(t, single)

	env = []string{"DATABASE_URL=" + shared, "BELONG_NIGHTLY_SCHEDULE=off", "BELONG_NIGHTLY_SHARD_SIZE=400",
		"BELONG_JOB_RESCUE_AFTER=10s"}
	workers := map[int]*proc{}
	for i := range 3 {
		w := start(t, fmt.Sprintf("worker %d", i+1), env, "worker")
		workers[w.cmd.Process.Pid] = w
	}
	time.Sleep(time.Second) // the workers are up and polling
	if out := belong(t, env, "", "jobs", "run", "nightly"); !strings.Contains(out, "nightly pipeline queued") {
		t.Fatalf("jobs run nightly: %s", out)
	}

	// Kill the worker that holds the first shard seen running.
	conn, err := pgx.Connect(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killedJob int64
	var victim *proc
	waitFor(t, 60*time.Second, "a shard to be running", func() bool {
		var by []string
		err := conn.QueryRow(ctx, `SELECT id, attempted_by FROM river_job WHERE kind = 'embed_shard' AND state = 'running'
			ORDER BY id LIMIT 1`).Scan(&killedJob, &by)
		if err != nil || len(by) == 0 {
			return false
		}
		host, pid, _ := strings.Cut(by[len(by)-1], ".")
		_ = host
		n, _ := strconv.Atoi(pid)
		victim = workers[n]
		return victim != nil
	})
	victim.kill()
	delete(workers, victim.cmd.Process.Pid)
	var state string
	if err := conn.QueryRow(ctx, "SELECT state FROM river_job WHERE id = $1", killedJob).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "running" {
		t.Fatalf("the killed worker's shard was %s when it died, not running: kill it sooner", state)
	}

	// The run is published by the two left.
	waitFor(t, 150*time.Second, "the workers to publish a run", func() bool {
		var n int
		_ = conn.QueryRow(ctx, "SELECT count(*) FROM current_run").Scan(&n)
		time.Sleep(200 * time.Millisecond)
		return n == 1
	})
	var attempts int
	if err := conn.QueryRow(ctx, "SELECT attempt FROM river_job WHERE id = $1 AND state = 'completed'", killedJob).Scan(&attempts); err != nil || attempts < 2 {
		t.Errorf("the killed worker's shard: attempt %d (err %v), want it completed by a second attempt", attempts, err)
	}
	var shards, done, embedded, consenting, workedBy int
	if err := conn.QueryRow(ctx, `SELECT shards, shards_done, embedded, (SELECT count(*) FROM members WHERE consent_personalization),
			(SELECT count(DISTINCT attempted_by[array_upper(attempted_by, 1)]) FROM river_job WHERE kind = 'embed_shard')
		FROM nightly_runs`).Scan(&shards, &done, &embedded, &consenting, &workedBy); err != nil {
		t.Fatal(err)
	}
	if shards < 7 || done != shards || embedded != consenting {
		t.Errorf("night: %d of %d shards done, %d embedded of %d consenting members", done, shards, embedded, consenting)
	}
	if workedBy < 2 {
		t.Errorf("the shards were finished by %d workers", workedBy)
	}
	got := memberships(t, shared)
	if len(got) == 0 || !maps.Equal(got, want) {
		differ := 0
		for m, c := range want {
			if got[m] != c {
				differ++
			}
		}
		t.Errorf("the workers' run places %d members; %d of the single process's %d members differ", len(got), differ, len(want))
	}
}
