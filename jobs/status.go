package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/service"
	"github.com/belong-loyalty/belong/storage"
)

// Count is how many jobs of a kind, in a queue, are in a state.
type Count struct {
	Queue string `json:"queue"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	N     int    `json:"n"`
}

// Counts tallies the jobs by queue, kind and state (River's own table; finished jobs stay
// until River's cleaner prunes them).
func Counts(ctx context.Context, db database.DBTX) ([]Count, error) {
	counts, err := storage.CountJobs(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", storage.Translate(err, nil))
	}
	out := make([]Count, 0, len(counts))
	for _, c := range counts {
		out = append(out, Count{Queue: c.Queue, Kind: c.Kind, State: c.State, N: int(c.N)})
	}
	return out, nil
}

// Problem is a job that failed at least once and is not done: waiting to be retried,
// parked (discarded) after its last attempt, or cancelled because what it was for is
// gone.
type Problem struct {
	ID        int64     `json:"id,string"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Attempt   int       `json:"attempt"`
	Max       int       `json:"max_attempts"`
	Args      string    `json:"args"`
	LastError string    `json:"last_error"`
	At        time.Time `json:"at"`
}

// Problems lists up to limit failing jobs, newest first.
func Problems(ctx context.Context, client *river.Client[pgx.Tx], limit int) ([]Problem, error) {
	res, err := client.JobList(ctx, river.NewJobListParams().
		States(rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit))
	if err != nil {
		return nil, fmt.Errorf("list failing jobs: %w", err)
	}
	out := make([]Problem, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		p := Problem{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, Max: j.MaxAttempts, Args: string(j.EncodedArgs)}
		if n := len(j.Errors); n > 0 {
			p.LastError, p.At = j.Errors[n-1].Error, j.Errors[n-1].At
		}
		out = append(out, p)
	}
	return out, nil
}

// WaitIdle returns once no job is running, due to run or waiting to be retried
// after an error, or when ctx ends. Scheduled jobs (the periodic ones' next runs)
// and webhook deliveries waiting for their receiver's next attempt do not count.
func WaitIdle(ctx context.Context, client *river.Client[pgx.Tx]) error {
	for {
		res, err := client.JobList(ctx, river.NewJobListParams().
			States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStatePending).First(1000))
		if err != nil {
			return err
		}
		busy := false
		for _, j := range res.Jobs {
			// Waiting for later does not count for a webhook delivery (its receiver's
			// next attempt may be an hour away); it does for any other job, whose
			// retry after an error comes soon.
			later := j.ScheduledAt.After(time.Now()) && j.Kind == (service.DeliverWebhooksArgs{}).Kind()
			busy = busy || j.State == rivertype.JobStateRunning || !later
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
