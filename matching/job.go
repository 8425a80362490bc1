package matching

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
)

// JobConfig tunes the nightly cluster run.
type JobConfig struct {
	// Model picks whose vectors to cluster.
	Model string
	// TargetSize is the community size k is chosen for: k = round(members/TargetSize).
	// 50 when zero.
	TargetSize int
	// Seed makes runs reproducible.
	Seed uint64
	// MaxIter bounds k-means iterations; 50 when zero.
	MaxIter int
	// Alternatives is how many communities beyond the primary each member is ranked
	// against; 2 when zero.
	Alternatives int
}

// Job is the nightly cluster run: load vectors, cluster, label, publish.
type Job struct {
	DB     *pgxpool.Pool
	Logger *slog.Logger
	Config JobConfig
}

// RunResult is what a published run produced.
type RunResult struct {
	RunID       int64         `json:"run_id"`
	Members     int           `json:"members"`
	Communities int           `json:"communities"`
	Iterations  int           `json:"iterations"`
	Cohesion    float64       `json:"cohesion"`
	MinSize     int           `json:"min_size"`
	MedianSize  int           `json:"median_size"`
	MaxSize     int           `json:"max_size"`
	Duration    time.Duration `json:"-"`
}

// ErrRunning means another cluster run holds the lock.
var ErrRunning = errors.New("another cluster run is in progress")

// ErrNoVectors means there is nothing to cluster: run `belong embed` first.
var ErrNoVectors = errors.New("no member vectors to cluster: run `belong embed` first")

// runLockKey keeps two cluster runs apart ("cluster" in ASCII).
const runLockKey = 0x636c7573746572

// Stale reports whether the vectors of model changed since the current run started:
// true when there is no run, a vector was written after it began, or the number of
// clusterable members differs from what it clustered.
func Stale(ctx context.Context, db database.DBTX, model string) (bool, error) {
	var stale bool
	err := db.QueryRow(ctx, `
		SELECT r.id IS NULL
			OR r.model <> $1
			OR EXISTS (SELECT 1 FROM member_vectors v WHERE v.embedded_at >= r.started_at)
			OR (r.metrics->>'members')::bigint IS DISTINCT FROM (
				SELECT count(*) FROM member_vectors v JOIN members m ON m.id = v.member_id
				WHERE v.model = $1 AND m.consent_personalization)
		FROM (SELECT 1) AS one
		LEFT JOIN current_run c ON true
		LEFT JOIN cluster_runs r ON r.id = c.run_id`, model).Scan(&stale)
	if err != nil {
		return false, fmt.Errorf("check for changes since the last run: %w", err)
	}
	return stale, nil
}

// RunOnce clusters the current vectors and publishes the result as the current run.
// The previous run keeps serving until the new one is fully written; a failed run is
// recorded as failed and changes nothing that readers see.
func (j *Job) RunOnce(ctx context.Context) (RunResult, error) {
	started := time.Now()
	cfg := j.Config
	cfg.TargetSize = cmp.Or(cfg.TargetSize, 50)
	cfg.Alternatives = cmp.Or(cfg.Alternatives, 2)
	if cfg.Model == "" {
		cfg.Model = embeddings.LocalModel
	}

	conn, err := j.DB.Acquire(ctx)
	if err != nil {
		return RunResult{}, fmt.Errorf("cluster run: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", runLockKey).Scan(&locked); err != nil {
		return RunResult{}, fmt.Errorf("cluster run: lock: %w", err)
	}
	if !locked {
		return RunResult{}, ErrRunning
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", runLockKey) //nolint:errcheck

	vecs, err := embeddings.Load(ctx, conn, cfg.Model)
	if err != nil {
		return RunResult{}, err
	}
	if len(vecs) == 0 {
		return RunResult{}, ErrNoVectors
	}
	k := max(1, int(math.Round(float64(len(vecs))/float64(cfg.TargetSize))))

	var runID int64
	if err := conn.QueryRow(ctx, `INSERT INTO cluster_runs (status, model, params)
		VALUES ('running', $1, $2) RETURNING id`, cfg.Model,
		map[string]any{"k": k, "target_size": cfg.TargetSize, "seed": cfg.Seed, "max_iter": cfg.MaxIter}).Scan(&runID); err != nil {
		return RunResult{}, fmt.Errorf("cluster run: record: %w", err)
	}
	res, err := j.fitAndPublish(ctx, conn, runID, k, cfg, vecs)
	if err != nil {
		// The run is marked failed on a fresh context: ctx may be why it failed.
		_, ferr := conn.Exec(context.WithoutCancel(ctx), `UPDATE cluster_runs SET status = 'failed', finished_at = now(),
			metrics = jsonb_build_object('error', $2::text) WHERE id = $1`, runID, err.Error())
		return RunResult{}, errors.Join(err, ferr)
	}
	res.Duration = time.Since(started)
	if j.Logger != nil {
		j.Logger.InfoContext(ctx, "cluster run published", slog.Int64("run_id", res.RunID),
			slog.Int("members", res.Members), slog.Int("communities", res.Communities),
			slog.Int("iterations", res.Iterations), slog.Float64("cohesion", res.Cohesion),
			slog.Duration("duration", res.Duration))
	}
	return res, nil
}

func (j *Job) fitAndPublish(ctx context.Context, conn *pgxpool.Conn, runID int64, k int, cfg JobConfig, vecs []embeddings.Vector) (RunResult, error) {
	x := make([][]float32, len(vecs))
	for i, v := range vecs {
		x[i] = v.Vec
	}
	km, err := SphericalKMeans(x, KMeansConfig{K: k, Seed: cfg.Seed, MaxIter: cfg.MaxIter})
	if err != nil {
		return RunResult{}, err
	}
	terms, err := memberTerms(ctx, conn, vecs)
	if err != nil {
		return RunResult{}, err
	}
	labels := Label(terms, km.Assign, k, LabelConfig{})

	sizes := make([]int, k)
	for _, c := range km.Assign {
		sizes[c]++
	}
	// Clusters can come out empty only when k-means re-seeding loses a race with
	// duplicates; such a cluster is not published.
	live := make([]int, 0, k)
	for c := 0; c < k; c++ {
		if sizes[c] > 0 {
			live = append(live, c)
		}
	}
	res := RunResult{RunID: runID, Members: len(vecs), Communities: len(live), Iterations: km.Iterations}
	var cohesion float64
	for _, s := range km.Score {
		cohesion += float64(s)
	}
	res.Cohesion = round3(cohesion / float64(len(vecs)))
	sorted := make([]int, 0, len(live))
	for _, c := range live {
		sorted = append(sorted, sizes[c])
	}
	sort.Ints(sorted)
	res.MinSize, res.MedianSize, res.MaxSize = sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1]

	err = database.InTx(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT 'c-' || nextval('community_seq') FROM generate_series(1, $1)", len(live))
		if err != nil {
			return fmt.Errorf("allocate community ids: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("allocate community ids: %w", err)
		}
		idOf := make(map[int]string, len(live))
		comm := make([][]any, len(live))
		liveCentroids := make([][]float32, len(live))
		for i, c := range live {
			idOf[i] = ids[i]
			liveCentroids[i] = km.Centroids[c]
			comm[i] = []any{runID, ids[i], pgvector.NewVector(km.Centroids[c]), int32(sizes[c]), nonNil(labels[c]), Name(labels[c])}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"communities"},
			[]string{"run_id", "id", "centroid", "size", "labels", "name"}, pgx.CopyFromRows(comm)); err != nil {
			return fmt.Errorf("write communities: %w", err)
		}
		liveIndex := make(map[int]int, len(live))
		for i, c := range live {
			liveIndex[c] = i
		}
		ms := make([][]any, 0, len(vecs)*(1+cfg.Alternatives))
		for i, v := range vecs {
			primary := liveIndex[km.Assign[i]]
			ms = append(ms, []any{runID, v.MemberID, idOf[primary], int16(1), km.Score[i]})
			top, sims := TopK(v.Vec, liveCentroids, cfg.Alternatives+1)
			rank := int16(2)
			for t, c := range top {
				if c == primary || int(rank) > cfg.Alternatives+1 {
					continue
				}
				ms = append(ms, []any{runID, v.MemberID, idOf[c], rank, sims[t]})
				rank++
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memberships"},
			[]string{"run_id", "member_id", "community_id", "rank", "score"}, pgx.CopyFromRows(ms)); err != nil {
			return fmt.Errorf("write memberships: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE cluster_runs SET status = 'published', finished_at = now(), metrics = $2
			WHERE id = $1`, runID, res); err != nil {
			return fmt.Errorf("mark run published: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO current_run (run_id) VALUES ($1)
			ON CONFLICT (singleton) DO UPDATE SET run_id = excluded.run_id, published_at = now()`, runID); err != nil {
			return fmt.Errorf("publish run: %w", err)
		}
		return nil
	})
	if err != nil {
		return RunResult{}, err
	}
	return res, nil
}

// memberTerms reads the interests and causes of the clustered members, in vecs order.
func memberTerms(ctx context.Context, db database.DBTX, vecs []embeddings.Vector) ([][]string, error) {
	ids := make([]string, len(vecs))
	for i, v := range vecs {
		ids[i] = v.MemberID
	}
	rows, err := db.Query(ctx, `SELECT m.interests || m.causes FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)
		JOIN members m ON m.id = u.id ORDER BY u.ord`, ids)
	if err != nil {
		return nil, fmt.Errorf("read member interests: %w", err)
	}
	terms, err := pgx.CollectRows(rows, pgx.RowTo[[]string])
	if err != nil {
		return nil, fmt.Errorf("read member interests: %w", err)
	}
	if len(terms) != len(vecs) {
		return nil, fmt.Errorf("read member interests: %d members changed during the run", len(vecs)-len(terms))
	}
	return terms, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
