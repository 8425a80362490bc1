package storage

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
)

// JobCount is how many of River's jobs of a kind, in a queue, are in a state.
type JobCount struct {
	Queue string
	Kind  string
	State string
	N     int64
}

// CountJobs tallies River's jobs by queue, kind and state. It is written by hand: river_job
// is River's own table, made by River's migrations rather than ours, so sqlc cannot
// check statements on it.
func CountJobs(ctx context.Context, db database.DBTX) ([]JobCount, error) {
	rows, err := db.Query(ctx, "SELECT queue, kind, state::text, count(*) FROM river_job GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobCount, error) {
		var c JobCount
		err := r.Scan(&c.Queue, &c.Kind, &c.State, &c.N)
		return c, err
	})
}

// ScrubJobArgs replaces what matches pattern (an erased member's id or name, as in
// ScrubDrafts) in the arguments of other jobs, such as a reviewer's draft request that
// named them.
//
// Hand-written: river_job is River's own table (see CountJobs).
func ScrubJobArgs(ctx context.Context, db database.DBTX, pattern string) (int64, error) {
	tag, err := db.Exec(ctx, `UPDATE river_job SET args = regexp_replace(args::text, $1, '[erased]', 'gi')::jsonb
		WHERE state <> 'running' AND args::text ~* $1`, pattern)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// DeleteMemberJobs deletes the jobs about an erased member (their arguments carry the
// member's id), except one running now, which finds the member gone and stores
// nothing; River's cleaner removes it within a day.
//
// Hand-written: river_job is River's own table (see CountJobs).
func DeleteMemberJobs(ctx context.Context, db database.DBTX, memberID string) (int64, error) {
	tag, err := db.Exec(ctx, "DELETE FROM river_job WHERE args->>'member_id' = $1 AND state <> 'running'", memberID)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// LostJobs returns which of ids will never run again: discarded or cancelled by
// River, or gone from its table (its cleaner deletes finished jobs). A job killed with
// its worker on its last attempt ends discarded without its own code running again.
//
// Hand-written: river_job is River's own table (see CountJobs).
func LostJobs(ctx context.Context, db database.DBTX, ids []int64) (map[int64]bool, error) {
	rows, err := db.Query(ctx, `SELECT i.id FROM unnest($1::bigint[]) AS i(id)
		LEFT JOIN river_job j ON j.id = i.id
		WHERE j.id IS NULL OR j.state IN ('discarded', 'cancelled')`, ids)
	if err != nil {
		return nil, err
	}
	lost, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(lost))
	for _, id := range lost {
		out[id] = true
	}
	return out, nil
}
