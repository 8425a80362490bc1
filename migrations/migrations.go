// Package migrations holds Belong's numbered SQL migrations, embedded in the binary,
// and runs the job queue's (River's) own migrations after them.
//
// Each file NNNN_name.sql runs once, in its own transaction, and is recorded in
// schema_migrations; River records its versions in river_migration. Up takes an
// advisory lock so two processes never migrate at once, and is safe to run again.
// Migrations run in the first schema of the connection's search_path; the pgvector
// extension must be visible on it.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
)

//go:embed *.sql
var files embed.FS

// lockKey is the advisory lock that keeps two migrators apart ("belong" in ASCII).
const lockKey = 0x62656c6f6e67 // database-wide: migrations of different schemas simply take turns

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// All returns the embedded migrations in version order.
func All() ([]Migration, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", e.Name())
		}
		body, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations numbered %d", out[i].Version)
		}
	}
	return out, nil
}

// Applied lists what Up applied: Belong's versions and River's.
type Applied struct {
	Belong, River []int
}

// Up applies every migration not yet recorded, Belong's and then River's, all under
// one advisory lock (River takes none of its own).
func Up(ctx context.Context, pool *pgxpool.Pool) (Applied, error) {
	var out Applied
	// The lock is a transaction's, held apart from the migrations' own transactions,
	// so it holds behind a transaction-pooling PgBouncer too.
	lock, err := database.WaitLock(ctx, pool, strconv.FormatInt(lockKey, 10))
	if err != nil {
		return out, fmt.Errorf("migrate: lock: %w", err)
	}
	defer lock.Release(ctx)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return out, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()

	ran, err := up(ctx, conn.Conn())
	out.Belong = ran
	if err != nil {
		return out, err
	}
	m, err := riverMigrator(ctx, pool)
	if err != nil {
		return out, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return out, fmt.Errorf("migrate job queue: %w", err)
	}
	for _, v := range res.Versions {
		out.River = append(out.River, v.Version)
	}
	return out, nil
}

// riverMigrator migrates River's tables into the schema ours live in. The schema is
// named, not left to the search_path: River looks for its version table by name, and
// would take another schema's further down the path (public's, say) for its own.
func riverMigrator(ctx context.Context, pool *pgxpool.Pool) (*rivermigrate.Migrator[pgx.Tx], error) {
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler), Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	return m, nil
}

// up applies Belong's own migrations on conn, which holds the migration lock.
func up(ctx context.Context, conn *pgx.Conn) ([]int, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: version table: %w", err)
	}
	done, err := applied(ctx, conn)
	if err != nil {
		return nil, err
	}
	var ran []int
	for _, m := range all {
		if done[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return ran, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		ran = append(ran, m.Version)
	}
	return ran, nil
}

// ErrPending means the database is behind the binary: run `belong migrate`.
var ErrPending = belong.New(belong.EUNAVAILABLE, "migrations_pending", "database has pending migrations: run `belong migrate`")

// Check reports ErrPending unless every embedded migration has been applied.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	all, err := All()
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	defer conn.Release()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if !exists {
		return ErrPending
	}
	done, err := applied(ctx, conn.Conn())
	if err != nil {
		return err
	}
	for _, m := range all {
		if !done[m.Version] {
			return fmt.Errorf("%w (missing %04d_%s)", ErrPending, m.Version, m.Name)
		}
	}
	rm, err := riverMigrator(ctx, pool)
	if err != nil {
		return err
	}
	res, err := rm.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check job queue migrations: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w (job queue: %s)", ErrPending, strings.Join(res.Messages, "; "))
	}
	return nil
}

func applied(ctx context.Context, conn *pgx.Conn) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	return done, nil
}
