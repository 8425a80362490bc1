package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
	"github.com/belong-loyalty/belong/webhooks"
)

// EmbedResult is what Embed did.
type EmbedResult struct {
	Model string
	// Learned is the term model fitted first, if any.
	Learned *embeddings.TermModel
	// Centered is the center learned before embedding, if any.
	Centered *embeddings.Centered
	embeddings.BackfillResult
}

// Embed embeds consenting members whose profile or activity changed. With refit it
// first learns term similarity from the membership (a new model version), and fails
// when the membership is too small to learn from. With LearnWhenReady it learns once,
// when no term model exists yet and enough consenting members share enough terms;
// until then it keeps the hashing embedder rather than fail.
func (s *Service) Embed(ctx context.Context, refit bool) (EmbedResult, error) {
	emb, res, err := s.prepareEmbedding(ctx, refit)
	if err != nil {
		return res, err
	}
	res.BackfillResult, err = (&embeddings.Backfill{DB: s.DB, Embedder: emb, Logger: s.Logger, Now: s.Now}).RunOnce(ctx)
	return res, err
}

// prepareEmbedding learns the term model and the center when they are due (see
// Embed) and returns the embedder to use.
func (s *Service) prepareEmbedding(ctx context.Context, refit bool) (embeddings.Embedder, EmbedResult, error) {
	var res EmbedResult
	learn := refit
	if !learn && s.LearnWhenReady {
		m, err := embeddings.LatestTermModel(ctx, s.DB)
		if err != nil {
			return nil, res, err
		}
		n, err := members.Count(ctx, s.DB)
		if err != nil {
			return nil, res, err
		}
		// All members bound the consenting ones: a cheap first check.
		learn = m == nil && n >= embeddings.LearnedMinMembers
	}
	if learn {
		m, err := s.learnTerms(ctx)
		switch {
		case err == nil:
			res.Learned = m
		case refit || !errors.Is(err, embeddings.ErrTooSmall):
			return nil, res, fmt.Errorf("refit: %w", err)
		default:
			s.logger().InfoContext(ctx, "term model not learned yet; hashing until the membership is large enough", slog.String("reason", err.Error()))
		}
	}
	emb, err := s.Embedder(ctx, s.DB)
	if err != nil {
		return nil, res, err
	}
	if _, centered := emb.(*embeddings.Centered); s.Center && !centered {
		c, err := embeddings.FitCenter(ctx, s.DB, emb, s.now())
		switch {
		case err == nil:
			res.Centered = c
			s.logger().InfoContext(ctx, "vector center learned", slog.String("model", c.Model()),
				slog.Float64("mean_cosine_before", c.SqueezeBefore), slog.Float64("mean_cosine_after", c.SqueezeAfter))
			if emb, err = s.Embedder(ctx, s.DB); err != nil {
				return nil, res, err
			}
		case !errors.Is(err, embeddings.ErrCenterTooSmall):
			return nil, res, err
		}
	}
	res.Model = emb.Model()
	return emb, res, nil
}

// learnTerms fits and stores a new term model; embeddings.ErrTooSmall when too few
// consenting members or shared terms.
func (s *Service) learnTerms(ctx context.Context) (*embeddings.TermModel, error) {
	docs, err := embeddings.MemberTerms(ctx, s.DB)
	if err != nil {
		return nil, err
	}
	if len(docs) < embeddings.LearnedMinMembers {
		return nil, fmt.Errorf("%w: %d consenting members; learning needs at least %d", embeddings.ErrTooSmall, len(docs), embeddings.LearnedMinMembers)
	}
	m, err := embeddings.FitTerms(docs, embeddings.FitConfig{})
	if err != nil {
		return nil, err
	}
	if len(m.Terms) < embeddings.LearnedMinTerms {
		return nil, fmt.Errorf("%w: %d shared terms; learning needs at least %d", embeddings.ErrTooSmall, len(m.Terms), embeddings.LearnedMinTerms)
	}
	if err := embeddings.SaveTermModel(ctx, s.DB, m); err != nil {
		return nil, err
	}
	return m, nil
}

// ClusterParams size the communities: see clustering.ClusterConfig.
type ClusterParams struct {
	TargetSize, MinSize, MaxSize int
	Seed                         uint64
	// DryRun computes the run and reports what it would change, publishing nothing.
	DryRun bool
	// Facets are what oversized communities are split along first (matching.JobConfig.Facets).
	Facets []string
	// Keep, when set, makes these the settings later runs start from once this run
	// is published (CurrentSettings), in the publishing transaction.
	Keep *Kept
}

// Kept says who published settings, and from which dry run.
type Kept struct {
	By       string
	DryRunID int64
}

// ClusterResult is what Cluster did: a published run, or nothing when nothing changed.
type ClusterResult struct {
	Unchanged bool
	matching.RunResult
}

// Cluster clusters the current vectors of the configured model and publishes the run.
// With ifChanged it does nothing when no vector changed since the current run.
// progress, when not nil, hears each stage.
func (s *Service) Cluster(ctx context.Context, p ClusterParams, ifChanged bool, progress func(stage string, done, total int)) (ClusterResult, error) {
	emb, err := s.Embedder(ctx, s.DB)
	if err != nil {
		return ClusterResult{}, err
	}
	if ifChanged {
		stale, err := matching.Stale(ctx, s.DB, emb.Model())
		if err != nil {
			return ClusterResult{}, err
		}
		if !stale {
			return ClusterResult{Unchanged: true}, nil
		}
	}
	job := &matching.Job{DB: s.DB, Logger: s.Logger, Config: matching.JobConfig{
		Model:    emb.Model(),
		Cluster:  clustering.ClusterConfig{TargetSize: p.TargetSize, MinSize: p.MinSize, MaxSize: p.MaxSize, Seed: p.Seed},
		Progress: progress,
		DryRun:   p.DryRun,
		Facets:   p.Facets,
		OnPublish: func(ctx context.Context, tx pgx.Tx, run, previous int64) error {
			if p.Keep != nil {
				if err := keepSettings(ctx, tx, p, run); err != nil {
					return err
				}
			}
			ids, err := webhooks.EmitRun(ctx, tx, s.now(), run, previous)
			if err != nil {
				return err
			}
			return s.wake(ctx, tx, ids)
		},
	}}
	res, err := job.RunOnce(ctx)
	if err != nil || p.DryRun {
		return ClusterResult{RunResult: res}, err
	}
	// This process serves the new run at once; others see it within their poll.
	if err := s.runs().Refresh(ctx); err != nil {
		return ClusterResult{}, fmt.Errorf("load the published run: %w", err)
	}
	return ClusterResult{RunResult: res}, nil
}

// Nightly is the nightly pipeline in one process: embed changed members, cluster if
// anything changed, and queue profile drafts for communities that have none. Each
// step is idempotent, so a retried night picks up where the last try stopped. Its
// outcome (and each stage's time) is recorded in pipeline_status, which /metrics reads
// from any process. The nightly job runs the same stages spread over workers
// (StartNightly).
func (s *Service) Nightly(ctx context.Context) (err error) {
	defer func() { s.recordFailure(ctx, err) }()
	start := time.Now()
	emb, err := s.Embed(ctx, false)
	if err != nil {
		return fmt.Errorf("nightly: embed: %w", err)
	}
	return s.finishNight(ctx, map[string]float64{"embed": time.Since(start).Seconds()}, slog.Int("embedded", emb.Embedded))
}

// finishNight is what follows a night's embedding, in one process or after its last
// shard: cluster if any vector changed, publish, queue profiles for new communities,
// and record the pipeline's success with each stage's time (stages holds those so
// far). attrs describe the night on the closing log line.
func (s *Service) finishNight(ctx context.Context, stages map[string]float64, attrs ...slog.Attr) error {
	st, err := s.CurrentSettings(ctx)
	if err != nil {
		return fmt.Errorf("nightly: %w", err)
	}
	start := time.Now()
	cl, err := s.Cluster(ctx, st.params(false), true, nil)
	stages["cluster"] = time.Since(start).Seconds()
	queued, clustered := 0, false
	switch {
	case errors.Is(err, matching.ErrNoVectors):
		s.logger().InfoContext(ctx, "nightly: nothing to cluster yet")
	case err != nil:
		return fmt.Errorf("nightly: cluster: %w", err)
	default:
		clustered = !cl.Unchanged
		start = time.Now()
		if queued, err = s.QueueCommunityDrafts(ctx); err != nil {
			return fmt.Errorf("nightly: %w", err)
		}
		stages["drafts"] = time.Since(start).Seconds()
	}
	raw, err := json.Marshal(stages)
	if err != nil {
		return err
	}
	if err := storage.New(s.DB).PipelineSucceeded(ctx, storage.PipelineSucceededParams{Name: "nightly", At: s.now(), Stages: raw}); err != nil {
		return storage.Translate(err, nil)
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "nightly pipeline done", append(attrs, slog.Bool("clustered", clustered),
		slog.Int64("run_id", cl.RunID), slog.Int("drafts_queued", queued))...)
	return nil
}
