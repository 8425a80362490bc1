// Package dbtest hands each test its own freshly migrated schema on the real
// PostgreSQL + pgvector that `make test` starts.
//
// The database comes from BELONG_TEST_DATABASE_URL, else DATABASE_URL. A test that
// needs it and finds neither fails: database tests never skip silently.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/migrations"
)

// URL returns the test database URL or fails the test.
func URL(tb testing.TB) string {
	tb.Helper()
	for _, k := range []string{"BELONG_TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	tb.Fatal("no database: set DATABASE_URL or run `make test`, which starts one")
	return ""
}

var unsafe = regexp.MustCompile(`[^a-z0-9]+`)

// Schema creates an empty schema, migrates it and returns a pool whose connections use
// it (with public, where pgvector lives, behind it). The schema is dropped when the
// test ends.
func Schema(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, _ := schema(tb)
	return pool
}

// SchemaURL is Schema for tests that start the real program: it returns a connection
// URL that selects the fresh, migrated schema (search_path as a startup parameter).
func SchemaURL(tb testing.TB) string {
	tb.Helper()
	_, u := schema(tb)
	return u
}

func schema(tb testing.TB) (*pgxpool.Pool, string) {
	ctx := context.Background()
	url := URL(tb)

	var b [4]byte
	_, _ = rand.Read(b[:])
	name := unsafe.ReplaceAllString(strings.ToLower(tb.Name()), "_")
	// River names its notification channels after the schema, and PostgreSQL caps a
	// channel name at 63 bytes: keep the schema name short.
	if len(name) > 24 {
		name = name[:24]
	}
	schema := fmt.Sprintf("t_%s_%s", name, hex.EncodeToString(b[:]))

	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect to test database: %v", err)
	}
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), url)
		if err != nil {
			tb.Errorf("drop test schema: %v", err)
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop test schema: %v", err)
		}
	})

	cfg, err := database.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema + ",public"
	cfg.MaxConns = 8
	pool, err := database.OpenConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if _, err := migrations.Up(ctx, pool); err != nil {
		tb.Fatalf("migrate test schema: %v", err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		tb.Fatalf("parse test database url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return pool, u.String()
}
