package storage

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Statements of the cluster run and peer search that sqlc cannot express: the rest
// are in queries/runs.sql, queries/communities.sql and queries/vectors.sql.

// RunLockKey is the SQL expression of the advisory lock that keeps two cluster runs
// apart. It is scoped to the schema, so deployments (and tests) that share a database
// in separate schemas do not block one another.
const RunLockKey = "hashtextextended('belong:cluster:' || current_schema(), 0)"

// TryRunLock takes the cluster run's advisory lock on conn without waiting and
// reports whether it got it. The lock is the session's: it lasts until RunUnlock or
// until the connection closes, so conn must stay acquired for the whole run.
//
// Hand-written: the lock key is the expression RunLockKey, spliced into the statement
// (sqlc takes only literal query text).
func TryRunLock(ctx context.Context, conn *pgxpool.Conn) (bool, error) {
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock("+RunLockKey+")").Scan(&locked); err != nil {
		return false, err
	}
	return locked, nil
}

// RunUnlock releases the lock TryRunLock took on conn.
//
// Hand-written for the same reason as TryRunLock.
func RunUnlock(ctx context.Context, conn *pgxpool.Conn) error {
	_, err := conn.Exec(ctx, "SELECT pg_advisory_unlock("+RunLockKey+")")
	return err
}

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
