package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/storage"
)

// DefaultShardSize is how many consenting members one embedding shard of the nightly
// pipeline covers when Service.ShardSize is zero.
const DefaultShardSize = 50_000

// The nightly pipeline as jobs that any number of workers share:
//
//  1. the nightly job (StartNightly) learns the term model and the center when they
//     are due, removes the vectors of members who withdrew consent, splits the
//     consenting members into shards of ids and queues a job for each, with the
//     time they all age activity to, in one transaction;
//  2. each shard's job (EmbedShard) embeds its members whose profile or activity
//     changed, and counts itself done in the transaction that completes it: a worker
//     killed mid-shard completes nothing, so the shard runs again elsewhere (it
//     finds what it had written unchanged), and no shard is counted twice;
//  3. the job that completes the last shard queues the clustering and publication
//     (NightlyCluster), which runs once, on the nightly queue.
//
// Embedding is per member and every shard ages activity to the same time, so the
// vectors are those one process makes; clustering then runs as it does in one
// process, on the same vectors and seed, so the published run is the same.

// StartNightly is the nightly job: it queues the night's shards.
func (s *Service) StartNightly(ctx context.Context) (night int64, shards int, err error) {
	defer func() { s.recordFailure(ctx, err) }()
	emb, _, err := s.prepareEmbedding(ctx, false)
	if err != nil {
		return 0, 0, fmt.Errorf("nightly: embed: %w", err)
	}
	size := s.ShardSize
	if size <= 0 {
		size = DefaultShardSize
	}
	err = database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		q := storage.New(tx)
		removed, err := q.DeleteVectorsWithoutConsent(ctx)
		if err != nil {
			return fmt.Errorf("remove vectors without consent: %w", storage.Translate(err, nil))
		}
		ends, err := q.ShardEnds(ctx, int64(size))
		if err != nil {
			return fmt.Errorf("split members into shards: %w", storage.Translate(err, nil))
		}
		ranges := make([]embedShard, 0, len(ends)+1)
		after := ""
		for _, end := range ends {
			ranges = append(ranges, embedShard{After: after, Until: end})
			after = end
		}
		ranges = append(ranges, embedShard{After: after}) // the rest, and members who consent later
		night, err = q.CreateNightlyRun(ctx, storage.CreateNightlyRunParams{AgedAt: s.now(), Shards: int32(len(ranges)), Removed: int32(removed)})
		if err != nil {
			return fmt.Errorf("record the night: %w", storage.Translate(err, nil))
		}
		params := make([]river.InsertManyParams, len(ranges))
		for i, r := range ranges {
			params[i] = river.InsertManyParams{Args: EmbedShardArgs{Night: night, Shard: r}}
		}
		if _, err := s.Queue.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queue shards: %w", err)
		}
		shards = len(ranges)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("nightly: %w", err)
	}
	s.logger().InfoContext(ctx, "nightly pipeline started", slog.Int64("night", night), slog.Int("shards", shards),
		slog.Int("shard_size", size), slog.String("model", emb.Model()))
	return night, shards, nil
}

// EmbedShard embeds one shard of a night's members, then calls complete in the
// transaction that counts the shard done (and, for the last, queues the clustering):
// the job's completion commits with it.
func (s *Service) EmbedShard(ctx context.Context, args EmbedShardArgs, complete func(ctx context.Context, tx pgx.Tx) error) (err error) {
	defer func() { s.recordFailure(ctx, err) }()
	night, err := storage.New(s.DB).GetNightlyRun(ctx, args.Night)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("embed shard: night %d: %w", args.Night, ErrNightGone)
	}
	if err != nil {
		return fmt.Errorf("embed shard: %w", storage.Translate(err, nil))
	}
	emb, err := s.Embedder(ctx, s.DB)
	if err != nil {
		return fmt.Errorf("embed shard: %w", err)
	}
	shard := embeddings.Shard{After: args.Shard.After, Until: args.Shard.Until}
	res, err := (&embeddings.Backfill{DB: s.DB, Embedder: emb, Shard: &shard, At: night.AgedAt}).RunOnce(ctx)
	if err != nil {
		return fmt.Errorf("embed shard: %w", err)
	}
	var last bool
	err = database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		last, err = storage.New(tx).FinishNightlyShard(ctx, storage.FinishNightlyShardParams{ID: args.Night,
			Embedded: int32(res.Embedded), Unchanged: int32(res.Unchanged)})
		if err != nil {
			return fmt.Errorf("count the shard: %w", storage.Translate(err, nil))
		}
		if last {
			if _, err := s.Queue.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: NightlyClusterArgs{Night: args.Night}}}); err != nil {
				return fmt.Errorf("queue the clustering: %w", err)
			}
		}
		return complete(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("embed shard: %w", err)
	}
	s.logger().InfoContext(ctx, "nightly shard embedded", slog.Int64("night", args.Night), slog.String("after", args.Shard.After),
		slog.String("until", args.Shard.Until), slog.Int("embedded", res.Embedded), slog.Int("unchanged", res.Unchanged), slog.Bool("last", last))
	return nil
}

// ErrNightGone is a shard of a night whose record was pruned: nothing to do.
var ErrNightGone = errors.New("the night was pruned")

// NightlyCluster is the last stage of a night (finishNight), queued by its last shard.
func (s *Service) NightlyCluster(ctx context.Context, night int64) (err error) {
	defer func() { s.recordFailure(ctx, err) }()
	n, err := storage.New(s.DB).GetNightlyRun(ctx, night)
	if err != nil {
		return fmt.Errorf("nightly: %w", storage.Translate(err, nil))
	}
	stages := map[string]float64{}
	if n.EmbeddedAt != nil {
		stages["embed"] = n.EmbeddedAt.Sub(n.StartedAt).Seconds()
	}
	return s.finishNight(ctx, stages, slog.Int64("night", night), slog.Int("shards", int(n.Shards)), slog.Int("embedded", int(n.Embedded)))
}

// recordFailure notes a failed stage of the nightly pipeline in pipeline_status.
func (s *Service) recordFailure(ctx context.Context, err error) {
	if err == nil {
		return
	}
	if rerr := storage.New(s.DB).PipelineFailed(context.WithoutCancel(ctx), storage.PipelineFailedParams{Name: "nightly", At: s.now(), Error: err.Error()}); rerr != nil {
		s.logger().WarnContext(ctx, "nightly: record the failure", slog.String("error", rerr.Error()))
	}
}
