// Package jobs runs Belong's background work on River, a job queue that lives in the
// same PostgreSQL as the data. The use cases (package service) insert jobs in the
// transactions that cause them; this package has the workers that run them, the
// periodic schedule (nightly pipeline, anniversaries, signals, retention) and what an operator
// needs to see and retry them.
//
// Every job is idempotent and retried with backoff; a job that keeps failing is kept,
// discarded with its errors, for an operator (`belong jobs`). A job whose process was
// killed is rescued (made available again) after RescueAfter.
package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/service"
)

// Config shapes the workers. Zero values take the defaults.
type Config struct {
	// NightlySchedule is when the nightly pipeline runs: a cron expression (five
	// fields), in UTC unless it starts with CRON_TZ=Zone; "off" never schedules it.
	// "0 3 * * *" (03:00 UTC) when empty.
	NightlySchedule string
	// NoPeriodic schedules none of the periodic jobs (anniversaries, signals, retention, the
	// nightly pipeline): for tests that run them by hand.
	NoPeriodic bool
	// MaxAttempts is how often a job is tried before it is parked (discarded, with its
	// errors); 10 when zero. The nightly pipeline is tried 3 times.
	MaxAttempts int
	// DraftingWorkers is how many drafts are written at once; 4 when zero.
	DraftingWorkers int
	// WebhookWorkers is how many endpoints are delivered to at once; 4 when zero.
	WebhookWorkers int
	// RescueAfter is how long a job may stay running before it is taken for dead (its
	// process killed) and run again; 1 h when zero. It must exceed every job's timeout.
	RescueAfter time.Duration
	// RetryPolicy decides when a failed job runs again; River's exponential backoff
	// (attempt⁴ seconds) when nil.
	RetryPolicy river.ClientRetryPolicy
	// PollOnly polls for new jobs rather than LISTEN for them: for a database reached
	// through a transaction-pooling PgBouncer, where a LISTEN hears nothing.
	PollOnly bool
	// ClientID names this process in the jobs it works (river_job.attempted_by);
	// River's own (host and start time) when empty.
	ClientID string
	Logger   *slog.Logger
}

// Timeouts of each kind of job: a draft is one model call (with its own retries); a
// nightly pipeline embeds and clusters the whole membership.
const (
	draftTimeout     = 2 * time.Minute
	nightlyTimeout   = 55 * time.Minute
	shardTimeout     = 5 * time.Minute // a shard of 50,000 members embeds in about 10 s here
	retentionTimeout = 30 * time.Minute
	webhookTimeout   = 10 * time.Minute
	defaultRescue    = time.Hour
)

// ParseSchedule reads a cron expression, in UTC unless it names its zone with
// CRON_TZ=; "off" returns nil.
func ParseSchedule(expr string) (cron.Schedule, error) {
	expr = cmp.Or(strings.TrimSpace(expr), "0 3 * * *")
	if strings.EqualFold(expr, "off") {
		return nil, nil
	}
	zoned := expr
	if !strings.HasPrefix(expr, "CRON_TZ=") && !strings.HasPrefix(expr, "TZ=") {
		zoned = "CRON_TZ=UTC " + expr
	}
	s, err := cron.ParseStandard(zoned)
	if err != nil {
		return nil, fmt.Errorf("want five cron fields (minute hour day month weekday), such as 0 3 * * *: %w", err)
	}
	return s, nil
}

// New returns a River client whose workers run the service's jobs. It inserts jobs at
// once; it works them only after Start. Stop it with Stop (waits for running jobs) or
// StopAndCancel.
func New(pool *pgxpool.Pool, svc *service.Service, cfg Config) (*river.Client[pgx.Tx], error) {
	nightly, err := ParseSchedule(cfg.NightlySchedule)
	if err != nil {
		return nil, fmt.Errorf("BELONG_NIGHTLY_SCHEDULE: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &draftRecognition{svc: svc})
	river.AddWorker(workers, &draftCommunity{svc: svc})
	river.AddWorker(workers, &draftContent{svc: svc})
	river.AddWorker(workers, &scoreFeedback{svc: svc})
	river.AddWorker(workers, &nightlyWorker{svc: svc})
	// A shard is short, so its timeout (after which a killed worker's shard is rescued
	// and run again) is too: at most the rescue delay.
	river.AddWorker(workers, &embedShard{svc: svc, timeout: min(shardTimeout, cmp.Or(cfg.RescueAfter, defaultRescue))})
	river.AddWorker(workers, &nightlyCluster{svc: svc})
	river.AddWorker(workers, &anniversaries{svc: svc})
	river.AddWorker(workers, &signals{svc: svc})
	river.AddWorker(workers, &retention{svc: svc})
	river.AddWorker(workers, &deliverWebhooks{svc: svc})
	river.AddWorker(workers, &sweepWebhooks{svc: svc})
	river.AddWorker(workers, &announceRecognitions{svc: svc})
	river.AddWorker(workers, &dryRun{svc: svc})
	river.AddWorker(workers, &clusterWorker{svc: svc})
	river.AddWorker(workers, &challengesWorker{svc: svc})

	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(cronSchedule("0 * * * *"), func() (river.JobArgs, *river.InsertOpts) {
			return service.AnniversariesArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "anniversaries", RunOnStart: true}),
		river.NewPeriodicJob(cronSchedule("15 * * * *"), func() (river.JobArgs, *river.InsertOpts) {
			return service.SignalsArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "signals", RunOnStart: true}),
		river.NewPeriodicJob(cronSchedule("30 4 * * *"), func() (river.JobArgs, *river.InsertOpts) {
			return service.RetentionArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "retention", RunOnStart: true}),
		river.NewPeriodicJob(cronSchedule("45 * * * *"), func() (river.JobArgs, *river.InsertOpts) {
			return service.ChallengesArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "challenges", RunOnStart: true}),
		river.NewPeriodicJob(cronSchedule("* * * * *"), func() (river.JobArgs, *river.InsertOpts) {
			return service.SweepWebhooksArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "sweep_webhooks", RunOnStart: true}),
		river.NewPeriodicJob(cronSchedule("* * * * *"), func() (river.JobArgs, *river.InsertOpts) {
			return service.AnnounceRecognitionsArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "announce_recognitions", RunOnStart: true}),
	}
	if nightly != nil {
		periodic = append(periodic, river.NewPeriodicJob(nightly, func() (river.JobArgs, *river.InsertOpts) {
			return service.NightlyArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "nightly"}))
	}
	rc := base(cfg)
	rc.Queues = map[string]river.QueueConfig{
		river.QueueDefault:    {MaxWorkers: 2},
		service.QueueDrafting: {MaxWorkers: cmp.Or(cfg.DraftingWorkers, 4)},
		service.QueueNightly:  {MaxWorkers: 1},
		service.QueueShards:   {MaxWorkers: 1}, // embedding is CPU-bound: a shard per worker at a time
		service.QueueWebhooks: {MaxWorkers: cmp.Or(cfg.WebhookWorkers, 4)},
	}
	rc.Workers = workers
	rc.ID = cfg.ClientID
	if !cfg.NoPeriodic {
		rc.PeriodicJobs = periodic
	}
	rc.RescueStuckJobsAfter = cmp.Or(cfg.RescueAfter, defaultRescue)
	// River refuses a rescue sooner than its default job timeout (a minute), which
	// jobs without a timeout of their own run under.
	rc.JobTimeout = min(time.Minute, rc.RescueStuckJobsAfter)
	rc.RetryPolicy = cfg.RetryPolicy
	rc.ErrorHandler = errorLog{cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}
	// Finished jobs are pruned by River's cleaner: completed after a day, discarded
	// (parked) after a week, for an operator to see first.
	rc.CompletedJobRetentionPeriod = 24 * time.Hour
	rc.DiscardedJobRetentionPeriod = 7 * 24 * time.Hour
	return river.NewClient(riverpgxv5.New(pool), rc)
}

// NewInserter returns a River client that only inserts jobs (the CLI's, and API
// nodes that run no workers): another process works them. Attempts are fixed when a
// job is inserted, so it takes the same Config as the workers.
func NewInserter(pool *pgxpool.Pool, cfg Config) (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(pool), base(cfg))
}

// base is what inserting clients and working clients share.
func base(cfg Config) *river.Config {
	logger := slog.New(slog.DiscardHandler)
	if cfg.Logger != nil {
		// River reports its producers' counts at info every few seconds; the jobs log
		// their own work, so River's lines below warn only show at debug.
		logger = slog.New(atLeast{cfg.Logger.Handler(), slog.LevelWarn})
	}
	return &river.Config{Logger: logger, MaxAttempts: cmp.Or(cfg.MaxAttempts, 10), PollOnly: cfg.PollOnly}
}

// errorLog puts every failed attempt on the service's log at warn, and a job's last
// failed attempt (it is parked) at error: River's own lines about them are at info.
type errorLog struct{ logger *slog.Logger }

func (h errorLog) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	level, msg := slog.LevelWarn, "job failed; it will be retried"
	if job.Attempt >= job.MaxAttempts {
		level, msg = slog.LevelError, "job failed for the last time; parked for an operator (belong jobs)"
	}
	h.logger.Log(ctx, level, msg, slog.String("kind", job.Kind), slog.Int64("job_id", job.ID),
		slog.Int("attempt", job.Attempt), slog.Int("max_attempts", job.MaxAttempts), slog.String("error", err.Error()))
	return nil
}

func (h errorLog) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	h.logger.ErrorContext(ctx, "job panicked", slog.String("kind", job.Kind), slog.Int64("job_id", job.ID),
		slog.Int("attempt", job.Attempt), slog.String("panic", fmt.Sprint(v)), slog.String("trace", trace))
	return nil
}

// atLeast passes records at min or above, and any record its handler takes at debug.
type atLeast struct {
	slog.Handler
	min slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, l) && (l >= h.min || h.Handler.Enabled(ctx, slog.LevelDebug))
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.min}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.min}
}

func cronSchedule(expr string) cron.Schedule {
	s, err := ParseSchedule(expr)
	if err != nil {
		panic(err) // constant expressions above
	}
	return s
}

type draftRecognition struct {
	river.WorkerDefaults[service.DraftRecognitionArgs]
	svc *service.Service
}

func (w *draftRecognition) Timeout(*river.Job[service.DraftRecognitionArgs]) time.Duration {
	return draftTimeout
}

func (w *draftRecognition) Work(ctx context.Context, job *river.Job[service.DraftRecognitionArgs]) error {
	return w.svc.DraftRecognition(ctx, job.Args.MemberID, job.Args.Key)
}

type draftCommunity struct {
	river.WorkerDefaults[service.DraftCommunityArgs]
	svc *service.Service
}

func (w *draftCommunity) Timeout(*river.Job[service.DraftCommunityArgs]) time.Duration {
	return draftTimeout
}

func (w *draftCommunity) Work(ctx context.Context, job *river.Job[service.DraftCommunityArgs]) error {
	_, _, err := w.svc.DraftCommunity(ctx, job.Args.ContentKind, job.Args.CommunityID, job.Args.Locale, "generator")
	return cancelIfGone(err)
}

type draftContent struct {
	river.WorkerDefaults[service.DraftContentArgs]
	svc *service.Service
}

func (w *draftContent) Timeout(*river.Job[service.DraftContentArgs]) time.Duration {
	return draftTimeout
}

func (w *draftContent) Work(ctx context.Context, job *river.Job[service.DraftContentArgs]) error {
	_, err := w.svc.DraftContent(ctx, job.Args, func(ctx context.Context, tx pgx.Tx, d generation.Draft) error {
		// The draft and the job's completion commit together: a rescued job never
		// drafts twice. A job drafting once finds nothing to store if it was done.
		if d.ID != 0 {
			if err := river.RecordOutput(ctx, service.DraftOutput{DraftID: d.ID}); err != nil {
				return err
			}
		}
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
	return cancelIfGone(err)
}

// cancelIfGone cancels a job whose subject went away or changed so that no retry can
// help (an erased member, a dissolved community, withdrawn consent); other errors
// are retried.
func cancelIfGone(err error) error {
	switch belong.KindOf(err) {
	case belong.ENOTFOUND, belong.EINVALID, belong.EUNPROCESSABLE:
		return river.JobCancel(err)
	}
	return err
}

type scoreFeedback struct {
	river.WorkerDefaults[service.ScoreFeedbackArgs]
	svc *service.Service
}

func (w *scoreFeedback) Timeout(*river.Job[service.ScoreFeedbackArgs]) time.Duration {
	return draftTimeout
}

func (w *scoreFeedback) Work(ctx context.Context, job *river.Job[service.ScoreFeedbackArgs]) error {
	return w.svc.ScoreFeedback(ctx, job.Args.FeedbackID)
}

type nightlyWorker struct {
	river.WorkerDefaults[service.NightlyArgs]
	svc *service.Service
}

func (w *nightlyWorker) Timeout(*river.Job[service.NightlyArgs]) time.Duration { return nightlyTimeout }

// Work starts the night: its shards and, after them, its clustering are jobs of
// their own, which any worker takes.
func (w *nightlyWorker) Work(ctx context.Context, _ *river.Job[service.NightlyArgs]) error {
	_, _, err := w.svc.StartNightly(ctx)
	return err
}

type embedShard struct {
	river.WorkerDefaults[service.EmbedShardArgs]
	svc     *service.Service
	timeout time.Duration
}

func (w *embedShard) Timeout(*river.Job[service.EmbedShardArgs]) time.Duration { return w.timeout }

func (w *embedShard) Work(ctx context.Context, job *river.Job[service.EmbedShardArgs]) error {
	err := w.svc.EmbedShard(ctx, job.Args, func(ctx context.Context, tx pgx.Tx) error {
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
	if errors.Is(err, service.ErrNightGone) {
		return river.JobCancel(err)
	}
	return err
}

type nightlyCluster struct {
	river.WorkerDefaults[service.NightlyClusterArgs]
	svc *service.Service
}

func (w *nightlyCluster) Timeout(*river.Job[service.NightlyClusterArgs]) time.Duration {
	return nightlyTimeout
}

func (w *nightlyCluster) Work(ctx context.Context, job *river.Job[service.NightlyClusterArgs]) error {
	return w.svc.NightlyCluster(ctx, job.Args.Night)
}

func (w *nightlyCluster) NextRetry(job *river.Job[service.NightlyClusterArgs]) time.Time {
	return time.Now().Add(time.Duration(job.Attempt) * 10 * time.Minute)
}

// NextRetry spaces a failed night's attempts by 10 and 20 minutes: long enough for a
// manual cluster run or a short model outage to pass (River's default would spend all
// three attempts within 17 seconds).
func (w *nightlyWorker) NextRetry(job *river.Job[service.NightlyArgs]) time.Time {
	return time.Now().Add(time.Duration(job.Attempt) * 10 * time.Minute)
}

type anniversaries struct {
	river.WorkerDefaults[service.AnniversariesArgs]
	svc *service.Service
}

func (w *anniversaries) Work(ctx context.Context, _ *river.Job[service.AnniversariesArgs]) error {
	_, err := w.svc.DetectAnniversaries(ctx)
	return err
}

type signals struct {
	river.WorkerDefaults[service.SignalsArgs]
	svc *service.Service
}

func (w *signals) Work(ctx context.Context, _ *river.Job[service.SignalsArgs]) error {
	_, err := w.svc.RefreshSignals(ctx)
	return err
}

type retention struct {
	river.WorkerDefaults[service.RetentionArgs]
	svc *service.Service
}

// Timeout lets a first retention on a long-running deployment delete its backlog.
func (w *retention) Timeout(*river.Job[service.RetentionArgs]) time.Duration { return retentionTimeout }

func (w *retention) Work(ctx context.Context, _ *river.Job[service.RetentionArgs]) error {
	_, err := w.svc.Prune(ctx)
	return err
}

type deliverWebhooks struct {
	river.WorkerDefaults[service.DeliverWebhooksArgs]
	svc *service.Service
}

// Timeout bounds one round of deliveries to an endpoint.
func (w *deliverWebhooks) Timeout(*river.Job[service.DeliverWebhooksArgs]) time.Duration {
	return webhookTimeout
}

// Work delivers what is due. What failed is retried by the endpoint's retry job:
// this one, if it is the retry job (a snooze, which uses no attempt), else one
// queued for then (unless one is queued already; the minute sweep catches any
// delivery a retry job would have missed).
func (w *deliverWebhooks) Work(ctx context.Context, job *river.Job[service.DeliverWebhooksArgs]) error {
	wait, err := w.svc.DeliverWebhooks(ctx, job.Args.EndpointID)
	if err != nil || wait == 0 {
		return err
	}
	if job.Args.Retry {
		return river.JobSnooze(wait)
	}
	_, err = river.ClientFromContext[pgx.Tx](ctx).Insert(ctx, service.DeliverWebhooksArgs{EndpointID: job.Args.EndpointID, Retry: true},
		&river.InsertOpts{ScheduledAt: time.Now().Add(wait)})
	return err
}

type sweepWebhooks struct {
	river.WorkerDefaults[service.SweepWebhooksArgs]
	svc *service.Service
}

func (w *sweepWebhooks) Work(ctx context.Context, _ *river.Job[service.SweepWebhooksArgs]) error {
	return w.svc.SweepWebhooks(ctx)
}

type announceRecognitions struct {
	river.WorkerDefaults[service.AnnounceRecognitionsArgs]
	svc *service.Service
}

func (w *announceRecognitions) Work(ctx context.Context, _ *river.Job[service.AnnounceRecognitionsArgs]) error {
	_, err := w.svc.AnnounceRecognitions(ctx)
	return err
}

type challengesWorker struct {
	river.WorkerDefaults[service.ChallengesArgs]
	svc *service.Service
}

func (w *challengesWorker) Work(ctx context.Context, _ *river.Job[service.ChallengesArgs]) error {
	_, _, err := w.svc.MaintainChallenges(ctx)
	return err
}

// waitForRun is how long a dry run or a publication waits for another cluster run
// (the nightly one, say) that holds the run lock.
const waitForRun = time.Minute

type dryRun struct {
	river.WorkerDefaults[service.DryRunArgs]
	svc *service.Service
}

func (w *dryRun) Timeout(*river.Job[service.DryRunArgs]) time.Duration { return nightlyTimeout }

func (w *dryRun) Work(ctx context.Context, job *river.Job[service.DryRunArgs]) error {
	err := w.svc.RunDryRun(ctx, job.Args.DryRunID, job.Attempt >= job.MaxAttempts)
	if errors.Is(err, matching.ErrRunning) {
		return river.JobSnooze(waitForRun)
	}
	return err
}

type clusterWorker struct {
	river.WorkerDefaults[service.ClusterArgs]
	svc *service.Service
}

func (w *clusterWorker) Timeout(*river.Job[service.ClusterArgs]) time.Duration { return nightlyTimeout }

// Work publishes a run with the job's settings. One that cannot be made (no
// vectors) is cancelled with the reason; one that waits on another run snoozes.
func (w *clusterWorker) Work(ctx context.Context, job *river.Job[service.ClusterArgs]) error {
	_, err := w.svc.ClusterAndPublish(ctx, job.Args)
	if errors.Is(err, matching.ErrRunning) {
		return river.JobSnooze(waitForRun)
	}
	return cancelIfGone(err)
}
