package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/storage"
)

// ClusterSettings are changed clustering settings, as an admin asks for a dry run
// (POST /v1/cluster-runs/dry-runs, the console's runs page): what is left out keeps
// the server's setting.
type ClusterSettings struct {
	TargetSize *int    `json:"target_size,omitempty"`
	MinSize    *int    `json:"min_size,omitempty"`
	MaxSize    *int    `json:"max_size,omitempty"`
	Seed       *uint64 `json:"seed,omitempty"`
	// Facets replace the server's list; an empty list splits along none.
	Facets *[]string `json:"facets,omitempty"`
}

// Settings are what a dry run, or the run that publishes it, clusters with.
type Settings struct {
	TargetSize int      `json:"target_size"`
	MinSize    int      `json:"min_size"`
	MaxSize    int      `json:"max_size"`
	Seed       uint64   `json:"seed"`
	Facets     []string `json:"facets"`
}

// params are the Settings as Cluster takes them.
func (st Settings) params(dry bool) ClusterParams {
	return ClusterParams{TargetSize: st.TargetSize, MinSize: st.MinSize, MaxSize: st.MaxSize, Seed: st.Seed,
		Facets: st.Facets, DryRun: dry}
}

// Limits of ClusterSettings.
const (
	MaxCommunitySize = 10_000
	MaxFacets        = 4
)

// facetKeyRe is what may follow "attributes." in a facet: a member attribute's key.
var facetKeyRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// ValidFacet reports whether f is a facet a run can split along: language, skill or
// attributes.KEY.
func ValidFacet(f string) bool {
	key, isAttr := strings.CutPrefix(f, "attributes.")
	return f == "language" || f == "skill" || isAttr && facetKeyRe.MatchString(key)
}

func invalid(code, format string, args ...any) error {
	return belong.Errorf(belong.EINVALID, code, format, args...)
}

// ResolveSettings checks changed settings and fills in the current ones
// (CurrentSettings) for what they leave out. Sizes are whole numbers from 1 to MaxCommunitySize with min_size ≤
// target_size ≤ max_size and max_size at least twice min_size (an oversized
// community must be able to split into two that are large enough).
func (s *Service) ResolveSettings(ctx context.Context, cs ClusterSettings) (Settings, error) {
	st, err := s.CurrentSettings(ctx)
	if err != nil {
		return st, err
	}
	for _, f := range []struct {
		name string
		v    *int
		dst  *int
	}{{"target_size", cs.TargetSize, &st.TargetSize}, {"min_size", cs.MinSize, &st.MinSize}, {"max_size", cs.MaxSize, &st.MaxSize}} {
		if f.v == nil {
			continue
		}
		if *f.v < 1 || *f.v > MaxCommunitySize {
			return st, invalid("invalid_"+f.name, "%s must be a whole number from 1 to %d", f.name, MaxCommunitySize)
		}
		*f.dst = *f.v
	}
	if st.MinSize > st.TargetSize || st.TargetSize > st.MaxSize {
		return st, invalid("invalid_sizes", "sizes must satisfy min_size ≤ target_size ≤ max_size; with the server's for those left out that is %d ≤ %d ≤ %d",
			st.MinSize, st.TargetSize, st.MaxSize)
	}
	if st.MaxSize < 2*st.MinSize {
		return st, invalid("max_size_too_small", "max_size (%d) must be at least twice min_size (%d): a community above max_size is split in two, and each half must reach min_size",
			st.MaxSize, st.MinSize)
	}
	if cs.Seed != nil {
		st.Seed = *cs.Seed
	}
	if cs.Facets != nil {
		fs := *cs.Facets
		if len(fs) > MaxFacets {
			return st, invalid("invalid_facets", "at most %d facets", MaxFacets)
		}
		for i, f := range fs {
			if !ValidFacet(f) {
				return st, invalid("invalid_facets", "facet %q: want language, skill or attributes.KEY (KEY: a letter, then up to 63 letters, digits, _ or -)", f)
			}
			if slices.Contains(fs[:i], f) {
				return st, invalid("invalid_facets", "facet %q is listed twice", f)
			}
		}
		st.Facets = append([]string{}, fs...)
	}
	return st, nil
}

// Dry run statuses.
const (
	DryRunQueued  = "queued"
	DryRunRunning = "running"
	DryRunDone    = "done"
	DryRunFailed  = "failed"
)

// DryRun is a requested dry run: its settings, where it is, and once done what a
// run with those settings would change against the current run.
type DryRun struct {
	ID          int64    `json:"id,string"`
	Status      string   `json:"status"`
	Settings    Settings `json:"settings"`
	RequestedBy string   `json:"requested_by"`
	// Metrics and Report are there once it is done (the list leaves Report out).
	Metrics *clustering.Metrics    `json:"metrics,omitempty"`
	Report  *matching.DryRunReport `json:"report,omitempty"`
	// Error says why it failed, or why its last attempt did while it is retried.
	Error      string     `json:"error,omitempty"`
	JobID      *int64     `json:"job_id,omitempty,string"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Published is set once a run with its settings was queued for publication.
	Published *Publication `json:"published,omitempty"`
}

// Publication is the cluster run queued to publish a dry run's settings.
type Publication struct {
	JobID int64     `json:"job_id,string"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

// Errors of dry runs.
var (
	ErrDryRunNotFound  = belong.New(belong.ENOTFOUND, "dry_run_not_found", "no dry run has this id")
	ErrDryRunNotDone   = belong.New(belong.ECONFLICT, "dry_run_not_done", "only a finished dry run can be published: wait until it is done")
	ErrDryRunPublished = belong.New(belong.ECONFLICT, "dry_run_published", "this dry run was published already")
)

// DryRunArgs computes a requested dry run and stores its report.
type DryRunArgs struct {
	DryRunID int64 `json:"dry_run_id,string"`
}

// Kind implements river.JobArgs.
func (DryRunArgs) Kind() string { return "dry_run" }

// InsertOpts implements river.JobArgsWithInsertOpts: on the nightly queue, one at a
// time and never beside the nightly pipeline (they would wait on the run lock).
func (DryRunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNightly, MaxAttempts: 3}
}

// ClusterArgs clusters with given settings and publishes the run: an admin's
// publication of a dry run (DryRunID), which makes its settings the current ones.
type ClusterArgs struct {
	Settings    Settings `json:"settings"`
	DryRunID    int64    `json:"dry_run_id,string,omitempty"`
	PublishedBy string   `json:"published_by,omitempty"`
}

// Kind implements river.JobArgs.
func (ClusterArgs) Kind() string { return "cluster" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ClusterArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNightly, MaxAttempts: 3}
}

// RequestDryRun checks changed settings and queues a dry run with them: the row and
// its job commit together, and the job computes it (nothing is computed here).
func (s *Service) RequestDryRun(ctx context.Context, cs ClusterSettings, actor string) (DryRun, error) {
	st, err := s.ResolveSettings(ctx, cs)
	if err != nil {
		return DryRun{}, err
	}
	params, err := json.Marshal(st)
	if err != nil {
		return DryRun{}, fmt.Errorf("request dry run: %w", err)
	}
	var row storage.DryRun
	err = database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		q := storage.New(tx)
		if row, err = q.CreateDryRun(ctx, storage.CreateDryRunParams{Params: params, RequestedBy: actor}); err != nil {
			return fmt.Errorf("request dry run: %w", storage.Translate(err, nil))
		}
		res, err := s.Queue.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: DryRunArgs{DryRunID: row.ID}}})
		if err != nil {
			return fmt.Errorf("queue dry run: %w", err)
		}
		row.JobID = &res[0].Job.ID
		if err := q.SetDryRunJob(ctx, storage.SetDryRunJobParams{ID: row.ID, JobID: row.JobID}); err != nil {
			return fmt.Errorf("queue dry run: %w", storage.Translate(err, nil))
		}
		return nil
	})
	if err != nil {
		return DryRun{}, err
	}
	s.logger().InfoContext(ctx, "dry run requested", slog.Int64("dry_run_id", row.ID), slog.String("actor", actor))
	return dryRunOf(row)
}

// GetDryRun reads a dry run with its report.
func (s *Service) GetDryRun(ctx context.Context, id int64) (DryRun, error) {
	row, err := storage.New(s.DB).GetDryRun(ctx, id)
	if err != nil {
		return DryRun{}, storage.Translate(err, ErrDryRunNotFound)
	}
	d, err := dryRunOf(row)
	if err != nil {
		return d, err
	}
	ds := []DryRun{d}
	err = s.markLost(ctx, ds)
	return ds[0], err
}

// lostDryRun says why a dry run shows as failed although its row never recorded it.
const lostDryRun = "its job will not run again (its worker stopped during the last attempt, or it was cancelled): request it again"

// markLost shows as failed the queued or running dry runs whose job will never run
// again: a worker killed during the last attempt cannot record the failure itself.
// It only reads, so a GET stays a read.
func (s *Service) markLost(ctx context.Context, ds []DryRun) error {
	var ids []int64
	for _, d := range ds {
		if d.JobID != nil && (d.Status == DryRunQueued || d.Status == DryRunRunning) {
			ids = append(ids, *d.JobID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	lost, err := storage.LostJobs(ctx, s.DB, ids)
	if err != nil {
		return fmt.Errorf("read dry run jobs: %w", storage.Translate(err, nil))
	}
	for i, d := range ds {
		if d.JobID != nil && lost[*d.JobID] && (d.Status == DryRunQueued || d.Status == DryRunRunning) {
			ds[i].Status, ds[i].Error = DryRunFailed, lostDryRun
			if d.Error != "" {
				ds[i].Error = d.Error + "; " + lostDryRun
			}
		}
	}
	return nil
}

// DryRuns lists up to limit dry runs, newest first, older than before when it is
// above zero; without their reports.
func (s *Service) DryRuns(ctx context.Context, before int64, limit int) ([]DryRun, error) {
	rows, err := storage.New(s.DB).ListDryRuns(ctx, storage.ListDryRunsParams{Before: before, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list dry runs: %w", storage.Translate(err, nil))
	}
	out := make([]DryRun, len(rows))
	for i, r := range rows {
		if out[i], err = dryRunOf(storage.DryRun{ID: r.ID, Status: r.Status, Params: r.Params, RequestedBy: r.RequestedBy,
			Metrics: r.Metrics, Error: r.Error, JobID: r.JobID, PublishJobID: r.PublishJobID, PublishedBy: r.PublishedBy,
			CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, PublishedAt: r.PublishedAt}); err != nil {
			return nil, fmt.Errorf("list dry runs: %w", err)
		}
	}
	return out, s.markLost(ctx, out)
}

func dryRunOf(r storage.DryRun) (DryRun, error) {
	d := DryRun{ID: r.ID, Status: r.Status, RequestedBy: r.RequestedBy, Error: r.Error, JobID: r.JobID,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if err := json.Unmarshal(r.Params, &d.Settings); err != nil {
		return d, fmt.Errorf("dry run %d settings: %w", r.ID, err)
	}
	if d.Settings.Facets == nil {
		d.Settings.Facets = []string{}
	}
	if len(r.Metrics) > 0 {
		d.Metrics = new(clustering.Metrics)
		if err := json.Unmarshal(r.Metrics, d.Metrics); err != nil {
			return d, fmt.Errorf("dry run %d metrics: %w", r.ID, err)
		}
	}
	if len(r.Report) > 0 {
		d.Report = new(matching.DryRunReport)
		if err := json.Unmarshal(r.Report, d.Report); err != nil {
			return d, fmt.Errorf("dry run %d report: %w", r.ID, err)
		}
	}
	if r.PublishJobID != nil && r.PublishedAt != nil {
		d.Published = &Publication{JobID: *r.PublishJobID, By: r.PublishedBy, At: *r.PublishedAt}
	}
	return d, nil
}

// RunDryRun computes a queued dry run and stores its report (the dry_run job). A
// dry run that is finished already is left as it is. A failure that no retry can
// mend (no vectors yet, bad settings), or one on the last attempt (final), marks it
// failed with the error; any other is recorded and returned, for the job to retry.
// matching.ErrRunning (another run holds the lock) is returned as it is: the job
// waits for that run.
func (s *Service) RunDryRun(ctx context.Context, id int64, final bool) error {
	q := storage.New(s.DB)
	raw, err := q.StartDryRun(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start dry run %d: %w", id, storage.Translate(err, nil))
	}
	var st Settings
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("dry run %d settings: %w", id, err)
	}
	res, err := s.Cluster(ctx, st.params(true), false, nil)
	if err != nil {
		permanent := false
		switch belong.KindOf(err) {
		case belong.EINVALID, belong.EUNPROCESSABLE, belong.ENOTFOUND:
			permanent = true
		}
		msg := err.Error()
		if errors.Is(err, matching.ErrRunning) {
			msg, final, permanent = "waiting for another cluster run to finish", false, false
		}
		// Recorded on a fresh context: ctx may be why it failed.
		ferr := q.FailDryRun(context.WithoutCancel(ctx), storage.FailDryRunParams{ID: id, Final: final || permanent, Error: msg})
		if ferr != nil {
			return errors.Join(err, storage.Translate(ferr, nil))
		}
		s.logger().WarnContext(ctx, "dry run failed", slog.Int64("dry_run_id", id), slog.Bool("final", final || permanent),
			slog.String("error", msg))
		if permanent {
			return nil
		}
		return err
	}
	if res.DryRun == nil {
		return fmt.Errorf("dry run %d: the run reported no changes", id)
	}
	metrics, err := json.Marshal(res.Metrics)
	if err != nil {
		return fmt.Errorf("dry run %d: %w", id, err)
	}
	report, err := json.Marshal(res.DryRun)
	if err != nil {
		return fmt.Errorf("dry run %d: %w", id, err)
	}
	if err := q.FinishDryRun(ctx, storage.FinishDryRunParams{ID: id, Metrics: metrics, Report: report}); err != nil {
		return fmt.Errorf("store dry run %d: %w", id, storage.Translate(err, nil))
	}
	s.logger().InfoContext(ctx, "dry run done", slog.Int64("dry_run_id", id), slog.Int("communities", res.Communities),
		slog.Float64("churn", res.Churn), slog.Int("splits", len(res.DryRun.Splits)), slog.Int("merges", len(res.DryRun.Merges)))
	return nil
}

// PublishDryRun queues a real cluster run with a done dry run's settings (the
// cluster job) and records it on the dry run, in one transaction; it returns the
// job's id. Nothing is computed here. A dry run is published once.
func (s *Service) PublishDryRun(ctx context.Context, id int64, actor string) (int64, error) {
	var jobID int64
	err := database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		q := storage.New(tx)
		row, err := q.GetDryRun(ctx, id)
		if err != nil {
			return storage.Translate(err, ErrDryRunNotFound)
		}
		switch {
		case row.PublishJobID != nil:
			return ErrDryRunPublished
		case row.Status != DryRunDone:
			return ErrDryRunNotDone
		}
		d, err := dryRunOf(row)
		if err != nil {
			return err
		}
		res, err := s.Queue.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: ClusterArgs{Settings: d.Settings, DryRunID: id, PublishedBy: actor}}})
		if err != nil {
			return fmt.Errorf("queue cluster run: %w", err)
		}
		jobID = res[0].Job.ID
		_, err = q.PublishDryRun(ctx, storage.PublishDryRunParams{ID: id, PublishJobID: &jobID, PublishedBy: actor})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrDryRunPublished // published meanwhile
		}
		if err != nil {
			return fmt.Errorf("publish dry run %d: %w", id, storage.Translate(err, nil))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.logger().InfoContext(ctx, "dry run queued for publication", slog.Int64("dry_run_id", id), slog.Int64("job_id", jobID),
		slog.String("actor", actor))
	return jobID, nil
}

// ClusterAndPublish runs the cluster job: clusters with a's settings, publishes the
// run (making them the current settings) and queues profile drafts for its new
// communities, as the nightly pipeline does.
func (s *Service) ClusterAndPublish(ctx context.Context, a ClusterArgs) (ClusterResult, error) {
	p := a.Settings.params(false)
	p.Keep = &Kept{By: a.PublishedBy, DryRunID: a.DryRunID}
	res, err := s.Cluster(ctx, p, false, nil)
	if err != nil {
		return res, err
	}
	if _, err := s.QueueCommunityDrafts(ctx); err != nil {
		return res, fmt.Errorf("cluster: %w", err)
	}
	return res, nil
}

// CurrentSettings are the settings runs start from: the last ones an admin published
// (a dry run's), else the server's.
func (s *Service) CurrentSettings(ctx context.Context) (Settings, error) {
	row, err := storage.New(s.DB).GetClusterSettings(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		base := s.Clustering
		def := clustering.ClusterConfig{TargetSize: base.TargetSize, MinSize: base.MinSize, MaxSize: base.MaxSize}.WithDefaults()
		return Settings{TargetSize: def.TargetSize, MinSize: def.MinSize, MaxSize: def.MaxSize, Seed: base.Seed,
			Facets: append([]string{}, base.Facets...)}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("read cluster settings: %w", storage.Translate(err, nil))
	}
	var st Settings
	if err := json.Unmarshal(row.Settings, &st); err != nil {
		return Settings{}, fmt.Errorf("read cluster settings: %w", err)
	}
	if st.Facets == nil {
		st.Facets = []string{}
	}
	return st, nil
}

// keepSettings makes p's settings the current ones, in the transaction that
// publishes run.
func keepSettings(ctx context.Context, tx pgx.Tx, p ClusterParams, run int64) error {
	raw, err := json.Marshal(Settings{TargetSize: p.TargetSize, MinSize: p.MinSize, MaxSize: p.MaxSize, Seed: p.Seed,
		Facets: append([]string{}, p.Facets...)})
	if err != nil {
		return fmt.Errorf("keep cluster settings: %w", err)
	}
	var dry *int64
	if p.Keep.DryRunID > 0 {
		dry = &p.Keep.DryRunID
	}
	err = storage.New(tx).SaveClusterSettings(ctx, storage.SaveClusterSettingsParams{Settings: raw, DryRunID: dry,
		PublishedBy: p.Keep.By, RunID: run})
	if err != nil {
		return fmt.Errorf("keep cluster settings: %w", storage.Translate(err, nil))
	}
	return nil
}
