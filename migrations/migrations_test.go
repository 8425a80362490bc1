package migrations_test

import (
	"context"
	"testing"

	"github.com/belong-loyalty/belong/migrations"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

func TestUpIsIdempotentAndChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t) // migrated once already

	ran, err := migrations.Up(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran.Belong)+len(ran.River) != 0 {
		t.Fatalf("second Up applied %v, want nothing", ran)
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Fatalf("Check after Up: %v", err)
	}
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	var recorded int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(all) {
		t.Fatalf("schema_migrations has %d rows, want %d", recorded, len(all))
	}
	for _, table := range []string{"members", "member_events", "member_vectors", "cluster_runs",
		"current_run", "communities", "memberships", "content_drafts", "river_job", "river_migration"} {
		var ok bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing after migrate (err %v)", table, err)
		}
	}
}

func TestCheckReportsPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	if _, err := pool.Exec(ctx, "DELETE FROM schema_migrations WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Check(ctx, pool); err == nil {
		t.Fatal("Check passed with a migration missing")
	}
}
