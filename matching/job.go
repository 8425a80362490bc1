package matching

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
)

// JobConfig tunes the nightly cluster run.
type JobConfig struct {
	// Model picks whose vectors to cluster.
	Model string
	// Cluster holds the partition's knobs: target, min and max size, seed, stickiness.
	Cluster ClusterConfig
	// Secondary is how many secondary communities a member may have besides the
	// primary; 2 when zero, none when negative.
	Secondary int
	// SecondaryMin is the least cosine similarity for a secondary community; 0.75.
	SecondaryMin float32
	// SilhouetteSample is how many members the silhouette is measured on; 2,000.
	SilhouetteSample int
	// Progress, when set, hears what the run is doing: stage, done and total units.
	Progress func(stage string, done, total int)
}

// Job is the nightly cluster run: load vectors, cluster, label, publish.
type Job struct {
	DB     *pgxpool.Pool
	Logger *slog.Logger
	Config JobConfig
}

// RunResult is what a published run produced.
type RunResult struct {
	RunID int64 `json:"run_id,string"`
	Metrics
}

// ErrRunning means another cluster run holds the lock.
var ErrRunning = belong.New(belong.ECONFLICT, "cluster_run_in_progress", "another cluster run is in progress; try again when it has finished")

// ErrNoVectors means there is nothing to cluster: run `belong embed` first.
var ErrNoVectors = belong.New(belong.EUNPROCESSABLE, "no_vectors", "no member vectors to cluster: run `belong embed` first")

// RunLockKey is the SQL expression of the advisory lock that keeps two cluster runs
// apart. It is scoped to the schema, so deployments (and tests) that share a database
// in separate schemas do not block one another.
const RunLockKey = "hashtextextended('belong:cluster:' || current_schema(), 0)"

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

func (j *Job) progress(stage string, done, total int) {
	if j.Config.Progress != nil {
		j.Config.Progress(stage, done, total)
	}
}

// RunOnce clusters the current vectors and publishes the result as the current run.
// The previous run keeps serving until the new one is fully written; a failed or
// cancelled run is recorded as failed, with its error, and changes nothing readers see.
func (j *Job) RunOnce(ctx context.Context) (RunResult, error) {
	started := time.Now()
	cfg := j.Config
	cfg.Model = cmp.Or(cfg.Model, embeddings.LocalModel)
	cfg.Secondary = cmp.Or(cfg.Secondary, 2)
	cfg.SecondaryMin = cmp.Or(cfg.SecondaryMin, 0.75)
	cfg.SilhouetteSample = cmp.Or(cfg.SilhouetteSample, 2000)

	conn, err := j.DB.Acquire(ctx)
	if err != nil {
		return RunResult{}, fmt.Errorf("cluster run: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock("+RunLockKey+")").Scan(&locked); err != nil {
		return RunResult{}, fmt.Errorf("cluster run: lock: %w", err)
	}
	if !locked {
		return RunResult{}, ErrRunning
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+RunLockKey+")") //nolint:errcheck

	var runID int64
	if err := conn.QueryRow(ctx, `INSERT INTO cluster_runs (status, model, params)
		VALUES ('running', $1, $2) RETURNING id`, cfg.Model, paramsOf(cfg)).Scan(&runID); err != nil {
		return RunResult{}, fmt.Errorf("cluster run: record: %w", err)
	}
	res, err := j.run(ctx, conn, runID, cfg)
	if err != nil {
		// Recorded on a fresh context: ctx may be why the run failed.
		_, ferr := conn.Exec(context.WithoutCancel(ctx), `UPDATE cluster_runs SET status = 'failed', finished_at = now(),
			metrics = jsonb_build_object('error', $2::text) WHERE id = $1`, runID, err.Error())
		return RunResult{}, errors.Join(err, ferr)
	}
	res.RunID = runID
	res.DurationMS = time.Since(started).Milliseconds()
	if _, err := conn.Exec(ctx, "UPDATE cluster_runs SET metrics = $2 WHERE id = $1", runID, res.Metrics); err != nil {
		return res, fmt.Errorf("record run metrics: %w", err)
	}
	if j.Logger != nil {
		j.Logger.InfoContext(ctx, "cluster run published", slog.Int64("run_id", runID),
			slog.Int("members", res.Members), slog.Int("communities", res.Communities), slog.Int("tribes", res.Tribes),
			slog.Float64("cohesion", res.Cohesion), slog.Float64("silhouette", res.Silhouette),
			slog.Float64("churn", res.Churn), slog.Int("births", res.Births), slog.Int("deaths", res.Deaths),
			slog.Int64("duration_ms", res.DurationMS))
	}
	return res, nil
}

func paramsOf(cfg JobConfig) map[string]any {
	c := cfg.Cluster.withDefaults()
	return map[string]any{"target_size": c.TargetSize, "min_size": c.MinSize, "max_size": c.MaxSize,
		"seed": c.Seed, "max_iter": c.MaxIter, "sticky_margin": c.StickyMargin, "match_min": c.MatchMin,
		"tribe_size": c.TribeSize, "secondary": cfg.Secondary, "secondary_min": cfg.SecondaryMin}
}

// previousRun is what the current run left for this one to continue from.
type previousRun struct {
	ids, tribeIDs             []string
	centroids, tribeCentroids [][]float32
	primary                   map[string]string
}

func loadPrevious(ctx context.Context, db database.DBTX, model string) (previousRun, error) {
	var p previousRun
	var run int64
	err := db.QueryRow(ctx, `SELECT r.id FROM current_run c JOIN cluster_runs r ON r.id = c.run_id
		WHERE r.model = $1`, model).Scan(&run)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read previous run: %w", err)
	}
	read := func(table string, ids *[]string, cents *[][]float32) error {
		rows, err := db.Query(ctx, "SELECT id, centroid FROM "+table+" WHERE run_id = $1 ORDER BY id", run)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id string
				v  pgvector.Vector
			)
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			*ids = append(*ids, id)
			*cents = append(*cents, v.Slice())
		}
		return rows.Err()
	}
	if err := read("communities", &p.ids, &p.centroids); err != nil {
		return p, fmt.Errorf("read previous communities: %w", err)
	}
	if err := read("tribes", &p.tribeIDs, &p.tribeCentroids); err != nil {
		return p, fmt.Errorf("read previous tribes: %w", err)
	}
	rows, err := db.Query(ctx, "SELECT member_id, community_id FROM memberships WHERE run_id = $1 AND rank = 1", run)
	if err != nil {
		return p, fmt.Errorf("read previous memberships: %w", err)
	}
	defer rows.Close()
	p.primary = map[string]string{}
	for rows.Next() {
		var m, c string
		if err := rows.Scan(&m, &c); err != nil {
			return p, fmt.Errorf("read previous memberships: %w", err)
		}
		p.primary[m] = c
	}
	return p, rows.Err()
}

func (j *Job) run(ctx context.Context, conn *pgxpool.Conn, runID int64, cfg JobConfig) (RunResult, error) {
	j.progress("load", 0, 1)
	vecs, err := embeddings.Load(ctx, conn, cfg.Model)
	if err != nil {
		return RunResult{}, err
	}
	if len(vecs) == 0 {
		return RunResult{}, ErrNoVectors
	}
	prev, err := loadPrevious(ctx, conn, cfg.Model)
	if err != nil {
		return RunResult{}, err
	}
	j.progress("load", 1, 1)

	x := make([][]float32, len(vecs))
	prevPrimary := make([]string, len(vecs))
	for i, v := range vecs {
		x[i] = v.Vec
		prevPrimary[i] = prev.primary[v.MemberID]
	}
	cc := cfg.Cluster
	maxIter := cc.withDefaults().MaxIter
	cc.Progress = func(it, _ int) { j.progress("k-means", it, maxIter) }
	cl, err := Cluster(ctx, x, Previous{IDs: prev.ids, Centroids: prev.centroids, Primary: prevPrimary}, cc)
	if err != nil {
		return RunResult{}, err
	}
	j.progress("k-means", maxIter, maxIter)
	k := len(cl.Centroids)

	j.progress("tribes", 0, 1)
	tribeOf, tribeCents, err := Tribes(ctx, cl.Centroids, cc.withDefaults().TribeSize, cc.Seed)
	if err != nil {
		return RunResult{}, err
	}
	memberTribe := make([]int, len(x))
	for i, c := range cl.Assign {
		memberTribe[i] = tribeOf[c]
	}
	terms, err := memberTerms(ctx, conn, vecs)
	if err != nil {
		return RunResult{}, err
	}
	labels := Label(terms, cl.Assign, k, LabelConfig{})
	tribeLabels := Label(terms, memberTribe, len(tribeCents), LabelConfig{Max: 3})
	j.progress("tribes", 1, 1)

	j.progress("memberships", 0, 1)
	near, sims, err := Nearest(x, cl.Centroids, 1+max(cfg.Secondary, 0))
	if err != nil {
		return RunResult{}, err
	}
	m := Metrics{Members: len(x), Communities: k, Tribes: len(tribeCents), Iterations: cl.Iterations,
		Splits: cl.Splits, Dissolved: cl.Dissolved}
	var cohesion float64
	for _, s := range cl.Score {
		cohesion += float64(s)
	}
	m.Cohesion = round3(cohesion / float64(len(x)))
	m.Silhouette = round3(Silhouette(x, cl.Assign, k, cfg.SilhouetteSample, cc.Seed))
	m.MinSize, m.MedianSize, m.MaxSize = sizeStats(cl.Sizes)
	j.progress("memberships", 1, 1)

	j.progress("publish", 0, 1)
	err = database.InTx(ctx, conn, func(tx pgx.Tx) error {
		ids, births, err := continueIDs(ctx, tx, "c-", "community_seq", cl.PrevIndex, prev.ids)
		if err != nil {
			return err
		}
		m.Births, m.Deaths = births, len(prev.ids)-(k-births)
		tribeIDs, _, err := continueIDs(ctx, tx, "t-", "tribe_seq", matchCentroids(tribeCents, prev.tribeCentroids, cc.withDefaults().MatchMin), prev.tribeIDs)
		if err != nil {
			return err
		}
		tribeSize := make([]int, len(tribeCents))
		tribeCount := make([]int, len(tribeCents))
		for c, t := range tribeOf {
			tribeSize[t] += cl.Sizes[c]
			tribeCount[t]++
		}
		trows := make([][]any, len(tribeCents))
		for t := range tribeCents {
			trows[t] = []any{runID, tribeIDs[t], pgvector.NewVector(tribeCents[t]), int32(tribeSize[t]), int32(tribeCount[t]),
				nonNil(tribeLabels[t]), Name(tribeLabels[t])}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tribes"},
			[]string{"run_id", "id", "centroid", "size", "communities", "labels", "name"}, pgx.CopyFromRows(trows)); err != nil {
			return fmt.Errorf("write tribes: %w", err)
		}
		crows := make([][]any, k)
		for c := range cl.Centroids {
			crows[c] = []any{runID, ids[c], pgvector.NewVector(cl.Centroids[c]), int32(cl.Sizes[c]),
				nonNil(labels[c]), Name(labels[c]), tribeIDs[tribeOf[c]]}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"communities"},
			[]string{"run_id", "id", "centroid", "size", "labels", "name", "tribe_id"}, pgx.CopyFromRows(crows)); err != nil {
			return fmt.Errorf("write communities: %w", err)
		}
		var moved, both int
		ms := make([][]any, 0, len(x)*2)
		for i, v := range vecs {
			primary := cl.Assign[i]
			ms = append(ms, []any{runID, v.MemberID, ids[primary], int16(1), cl.Score[i]})
			rank := int16(2)
			for t, c := range near[i] {
				if c == primary || sims[i][t] < cfg.SecondaryMin || int(rank) > 1+cfg.Secondary {
					continue
				}
				ms = append(ms, []any{runID, v.MemberID, ids[c], rank, sims[i][t]})
				rank++
			}
			if p := prevPrimary[i]; p != "" {
				both++
				if p != ids[primary] {
					moved++
				}
			}
		}
		if both > 0 {
			m.Churn = round3(float64(moved) / float64(both))
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memberships"},
			[]string{"run_id", "member_id", "community_id", "rank", "score"}, pgx.CopyFromRows(ms)); err != nil {
			return fmt.Errorf("write memberships: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE cluster_runs SET status = 'published', finished_at = now(), metrics = $2
			WHERE id = $1`, runID, m); err != nil {
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
	j.progress("publish", 1, 1)
	return RunResult{Metrics: m}, nil
}

// continueIDs gives each new group the id of the previous group it continues, or a
// fresh one from seq; it returns the ids and how many were fresh.
func continueIDs(ctx context.Context, tx pgx.Tx, prefix, seq string, prevIndex []int, prevIDs []string) ([]string, int, error) {
	ids := make([]string, len(prevIndex))
	fresh := 0
	for i, p := range prevIndex {
		if p >= 0 {
			ids[i] = prevIDs[p]
		} else {
			fresh++
		}
	}
	if fresh == 0 {
		return ids, 0, nil
	}
	rows, err := tx.Query(ctx, "SELECT $1 || nextval($2::regclass) FROM generate_series(1, $3)", prefix, seq, fresh)
	if err != nil {
		return nil, 0, fmt.Errorf("allocate ids: %w", err)
	}
	next, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, 0, fmt.Errorf("allocate ids: %w", err)
	}
	for i := range ids {
		if ids[i] == "" {
			ids[i], next = next[0], next[1:]
		}
	}
	return ids, fresh, nil
}

// Tribes groups community centroids into about len/size coarse tribes by spherical
// k-means and returns each community's tribe and the tribes' centroids.
func Tribes(ctx context.Context, centroids [][]float32, size int, seed uint64) ([]int, [][]float32, error) {
	t := max(1, int(math.Round(float64(len(centroids))/float64(max(size, 1)))))
	km, err := SphericalKMeans(ctx, centroids, KMeansConfig{K: min(t, len(centroids)), Seed: seed})
	if err != nil {
		return nil, nil, fmt.Errorf("tribes: %w", err)
	}
	return km.Assign, km.Centroids, nil
}

// memberTerms reads the interests, causes and activity categories of the clustered
// members, in vecs order.
func memberTerms(ctx context.Context, db database.DBTX, vecs []embeddings.Vector) ([][]string, error) {
	ids := make([]string, len(vecs))
	for i, v := range vecs {
		ids[i] = v.MemberID
	}
	rows, err := db.Query(ctx, `SELECT m.interests || m.causes || coalesce(
			(SELECT array_agg(DISTINCT e.props->>'category') FROM member_events e
			 WHERE e.member_id = m.id AND e.props ? 'category'), '{}')
		FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)
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
