// Package service holds Belong's use cases: ingest, embed, cluster, the nightly
// pipeline, drafting and retention. The HTTP API, the CLI and the jobs all call them,
// so a batch posted to the API and the same file given to `belong ingest` do the same
// work in the same transactions.
//
// Work that follows a write (drafting a recognition, a community profile) is a job
// inserted in the transaction of the write (River's InsertManyTx): a committed batch
// always has its follow-up queued, a rolled-back one has none. Model calls run only in
// those jobs, outside any transaction. A write also names the cached answers it makes
// stale (package changes), in the same transaction.
package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/pilots"
)

// Queue inserts jobs in a caller's transaction and reads them back;
// *river.Client[pgx.Tx] is one, with or without workers.
type Queue interface {
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

var _ Queue = (*river.Client[pgx.Tx])(nil)

// Service runs the use cases. Build it with its fields; zero values take defaults.
type Service struct {
	DB    *pgxpool.Pool
	Queue Queue
	// Rules decide which events are milestones; moments.DefaultRules when empty.
	Rules moments.Rules
	// Drafting composes drafts. Jobs call the generator; set NoFallback so an outage
	// is retried rather than replaced by templates.
	Drafting generation.Drafting
	// Embedder returns the configured embedder (it may depend on the newest learned
	// term model in db).
	Embedder func(ctx context.Context, db database.DBTX) (embeddings.Embedder, error)
	// LearnWhenReady fits the learned term model in Embed once the membership is large
	// enough and none exists (BELONG_EMBEDDER=auto).
	LearnWhenReady bool
	// Center learns the embedder's common direction in Embed once CenterMinMembers
	// consent and none is stored for its model; Embedder then returns it centered
	// (embeddings.WithCenter).
	Center bool
	// Sentiment scores feedback with a model (a job, after the feedback is stored with
	// the offline lexicon's score); nil keeps the lexicon's score.
	Sentiment pilots.Scorer
	// Locales are the languages community profiles are drafted in; en, sv, it when empty.
	Locales []string
	// Clustering is the nightly run's clustering configuration.
	Clustering ClusterParams
	// ShardSize is how many consenting members each embedding shard of the nightly
	// pipeline covers; DefaultShardSize when zero.
	ShardSize int
	// KeepRuns is how many published cluster runs keep their memberships; 7 when zero.
	KeepRuns int
	// IdempotencyTTL is how long an Idempotency-Key is remembered; 24 h when zero.
	IdempotencyTTL time.Duration
	// Webhooks shapes the delivery of outgoing events.
	Webhooks WebhookConfig
	// Policy is when recognitions may go out: quiet hours and caps (the zero Policy
	// has neither; cmd/belong sets moments.DefaultPolicy unless configured).
	Policy moments.Policy
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// current holds the current cluster run in memory for the real-time reads, made
	// on first use (runs); Cluster refreshes it once it publishes a run.
	current  *matching.Runs
	runsOnce sync.Once
	hub      changes.Hub
	// names are the approved community profile names (profileNames), subscribed to
	// the hub on first use.
	names     profileNames
	namesOnce sync.Once
}

// Changes is where this process hears which cached answers its writes (and, through
// a changes.Listener, other processes' writes) made stale.
func (s *Service) Changes() *changes.Hub { return &s.hub }

// write runs fn in a transaction that also publishes keys to every process
// (changes.Publish), and tells this process's caches as soon as it commits.
func (s *Service) write(ctx context.Context, keys []string, fn func(tx pgx.Tx) error) error {
	return s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) { return keys, fn(tx) })
}

// writeFound is write for a change whose keys fn finds as it writes.
func (s *Service) writeFound(ctx context.Context, fn func(tx pgx.Tx) ([]string, error)) error {
	var keys []string
	err := database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		if keys, err = fn(tx); err != nil {
			return err
		}
		return changes.Publish(ctx, tx, keys)
	})
	if err == nil {
		s.hub.Changed(keys)
	}
	return err
}

// memberKeys are the change keys of members.
func memberKeys(ids []string) []string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = changes.Member(id)
	}
	return keys
}

// View returns the current cluster run, from memory; matching.ErrNoRun before the
// first run is published.
func (s *Service) View(ctx context.Context) (*matching.View, error) {
	return s.runs().Current(ctx)
}

// freshView is View after checking which run is current: for jobs and writes, which
// may follow a run another process has just published (one query when unchanged).
func (s *Service) freshView(ctx context.Context) (*matching.View, error) {
	if err := s.runs().Refresh(ctx); err != nil {
		return nil, err
	}
	return s.runs().Current(ctx)
}

// WatchRuns keeps View current until ctx ends: runs published by other processes
// (a separate worker's nightly run) are served within one interval.
func (s *Service) WatchRuns(ctx context.Context, every time.Duration) {
	s.runs().Watch(ctx, every, s.logger())
}

func (s *Service) runs() *matching.Runs {
	s.runsOnce.Do(func() { s.current = matching.NewRuns(s.DB) })
	return s.current
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) locales() []string {
	if len(s.Locales) > 0 {
		return s.Locales
	}
	return []string{"en", "sv", "it"}
}

// enqueue inserts jobs in tx and returns how many are new: a unique job that is
// already waiting is not queued twice.
func enqueue[T river.JobArgs](ctx context.Context, q Queue, tx pgx.Tx, args []T) (int, error) {
	if len(args) == 0 {
		return 0, nil
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	res, err := q.InsertManyTx(ctx, tx, params)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}
