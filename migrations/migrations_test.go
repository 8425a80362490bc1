package migrations_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/database"
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

// A schema further down the search_path that already has River's tables (public,
// after `make run`) must not be taken for this schema's: River's tables are made
// here too.
func TestRiverTablesGoInTheFirstSchemaOfThePath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	below := dbtest.Schema(t) // migrated: River's tables are in its schema
	var belowSchema string
	if err := below.QueryRow(ctx, "SELECT current_schema()").Scan(&belowSchema); err != nil {
		t.Fatal(err)
	}
	schema := "t_river_path_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	if _, err := below.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = below.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	cfg, err := database.ParseConfig(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema + "," + belowSchema + ",public"
	pool, err := database.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := migrations.Up(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var here bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", schema+".river_job").Scan(&here); err != nil || !here {
		t.Fatalf("river_job in %s: %v, %v", schema, here, err)
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Fatal(err)
	}
}

// Two processes migrating a fresh schema at once (replicas' start-up steps) both
// succeed: River's migrations run under the same lock as ours.
func TestConcurrentUpOnAFreshSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := dbtest.Schema(t)
	schema := "t_concurrent_up_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			cfg, err := database.ParseConfig(dbtest.URL(t))
			if err != nil {
				errs <- err
				return
			}
			cfg.ConnConfig.RuntimeParams["search_path"] = schema + ",public"
			pool, err := database.OpenConfig(ctx, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			_, err = migrations.Up(ctx, pool)
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Up: %v", err)
		}
	}
}
