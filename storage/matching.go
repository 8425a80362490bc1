package storage

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Statements of the cluster run and peer search that sqlc cannot express: the rest
// are in queries/runs.sql, queries/communities.sql and queries/vectors.sql.

// RunLockKey is the SQL expression of the advisory lock that keeps two cluster runs
// apart. It is scoped to the schema, so deployments (and tests) that share a database
// in separate schemas do not block one another.
const RunLockKey = "hashtextextended('belong:cluster:' || current_schema(), 0)"

// SetPeerSearch widens pgvector's HNSW search to efSearch candidates and turns on its
// iterative index scan (relaxed order) for the rest of tx, so that a filtered search
// keeps scanning until enough rows pass the filters.
//
// Hand-written: SET takes no bind parameters, so the width is formatted into the
// statement; both settings go in one round trip (simple protocol).
func SetPeerSearch(ctx context.Context, tx pgx.Tx, efSearch int) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL hnsw.ef_search = %d; SET LOCAL hnsw.iterative_scan = relaxed_order`, efSearch))
	return err
}

// RunLockHeld reports whether some session holds the cluster run's advisory lock,
// that is, whether a run is alive. It only reads pg_locks (a bigint advisory key shows
// as its high half in classid and its low half in objid, with objsubid 1).
//
// Hand-written for the same reason as TryRunLock.
func RunLockHeld(ctx context.Context, db DBTX) (bool, error) {
	var held bool
	err := db.QueryRow(ctx, `WITH k AS (SELECT `+RunLockKey+` AS key)
		SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l, k
			WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
			AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
			AND l.classid = ((k.key >> 32) & 4294967295)::bigint::oid
			AND l.objid = (k.key & 4294967295)::bigint::oid)`).Scan(&held)
	return held, err
}

// WriteMemberships stores a run's memberships, leaving out members erased since the
// run read their vectors: rows are copied into a staging table, then inserted where
// the member still exists. An erasure that commits later waits for the run's
// transaction (its foreign key check holds the member's row) and then removes them.
//
// Hand-written: the staging table is temporary, made at run time, which sqlc cannot
// check against the schema.
func WriteMemberships(ctx context.Context, tx pgx.Tx, rows []Membership) (int64, error) {
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.memberships_in;
		CREATE TEMP TABLE memberships_in (LIKE memberships) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("stage memberships: %w", err)
	}
	src := make([][]any, len(rows))
	for i, r := range rows {
		src[i] = []any{r.RunID, r.MemberID, r.CommunityID, r.Rank, r.Score}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memberships_in"}, []string{"run_id", "member_id", "community_id", "rank", "score"},
		pgx.CopyFromRows(src)); err != nil {
		return 0, fmt.Errorf("copy memberships: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO memberships (run_id, member_id, community_id, rank, score)
		SELECT i.run_id, i.member_id, i.community_id, i.rank, i.score FROM memberships_in i
		WHERE EXISTS (SELECT 1 FROM members m WHERE m.id = i.member_id)
		ORDER BY i.member_id, i.rank`)
	if err != nil {
		return 0, fmt.Errorf("write memberships: %w", err)
	}
	return tag.RowsAffected(), nil
}
