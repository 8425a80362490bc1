package migrations_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// citusDistributed are the tables docs/citus.md distributes, with their distribution
// column; citusReference those it makes reference tables. Everything else stays local.
var (
	citusDistributed = map[string]string{"members": "id", "member_events": "member_id", "member_activity": "member_id",
		"member_vectors": "member_id", "member_milestones": "member_id", "memberships": "member_id", "run_peers": "member_id",
		"run_vectors": "member_id", "challenge_participants": "member_id", "pilot_invitations": "member_id", "feedback": "member_id"}
	citusReference = []string{"cluster_runs", "current_run", "cluster_settings", "communities", "tribes", "dry_runs",
		"term_models", "vector_centers", "content_drafts", "content_reviews", "brand_settings", "challenges", "pilots",
		"api_keys", "console_users", "console_sessions", "webhook_endpoints", "pipeline_status", "schema_migrations"}
)

// The migrated schema breaks Citus's rules for docs/citus.md's plan in exactly the
// ways that page lists: a distributed table's keys include its distribution column,
// and no foreign key points into a distributed table from a reference or local one,
// or between distributed tables on anything but the distribution column.
func TestCitusPlan(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.Schema(t)
	kind := func(table string) string {
		switch {
		case citusDistributed[table] != "":
			return "distributed"
		case slices.Contains(citusReference, table):
			return "reference"
		}
		return "local"
	}
	var breaches []string
	// Keys: primary keys and unique constraints or indexes of distributed tables.
	rows, err := pool.Query(ctx, `SELECT c.relname, i.indisprimary,
			array(SELECT a.attname::text FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND i.indisunique`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table string
		var primary bool
		var cols []string
		if err := rows.Scan(&table, &primary, &cols); err != nil {
			t.Fatal(err)
		}
		if d := citusDistributed[table]; d != "" && !slices.Contains(cols, d) {
			what := "unique key"
			if primary {
				what = "primary key"
			}
			breaches = append(breaches, fmt.Sprintf("%s: %s (%s) lacks %s", table, what, strings.Join(cols, ", "), d))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Foreign keys.
	rows, err = pool.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text,
			array(SELECT a.attname::text FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k),
			array(SELECT a.attname::text FROM unnest(c.confkey) k JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k)
		FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var from, to string
		var cols, refCols []string
		if err := rows.Scan(&from, &to, &cols, &refCols); err != nil {
			t.Fatal(err)
		}
		fk := fmt.Sprintf("%s.%s → %s", from, strings.Join(cols, ","), to)
		switch fromKind, toKind := kind(from), kind(to); {
		case toKind == "distributed" && fromKind != "distributed":
			breaches = append(breaches, fk+": a "+fromKind+" table points into a distributed one")
		case toKind == "distributed" && (!slices.Contains(cols, citusDistributed[from]) || !slices.Contains(refCols, citusDistributed[to])):
			breaches = append(breaches, fk+": distributed tables joined on another column than their distribution column")
		case fromKind != "local" && toKind == "local":
			breaches = append(breaches, fk+": points into a local table")
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(breaches)
	want := []string{
		"content_drafts.member_id → members: a reference table points into a distributed one",
		"feedback: primary key (id) lacks member_id",
		"member_events: primary key (id) lacks member_id",
		"member_milestones: unique key (id) lacks member_id",
	}
	if !slices.Equal(breaches, want) {
		t.Errorf("breaches of Citus's rules:\n  %s\nwant (docs/citus.md lists these):\n  %s",
			strings.Join(breaches, "\n  "), strings.Join(want, "\n  "))
	}
}
