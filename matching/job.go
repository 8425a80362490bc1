package matching

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// JobConfig tunes the nightly cluster run.
type JobConfig struct {
	// Model picks whose vectors to cluster.
	Model string
	// Cluster holds the partition's knobs: target, min and max size, seed, stickiness.
	Cluster clustering.ClusterConfig
	// Secondary is how many secondary communities a member may have besides the
	// primary; 2 when zero, none when negative.
	Secondary int
	// SecondaryQuantile places the bar for a secondary community relative to the
	// data: it must fit the member at least as well as this quantile of all members'
	// fit to their own primary community (0.5 when zero: the median member's fit).
	// Where vectors are squeezed (every cosine near 0.8) or spread out, the bar moves
	// with them; a fixed cosine would hand everyone, or no one, a secondary.
	SecondaryQuantile float64
	// SilhouetteSample is how many members the silhouette is measured on; 2,000.
	SilhouetteSample int
	// Progress, when set, hears what the run is doing: stage, done and total units.
	Progress func(stage string, done, total int)
	// Facets are what an oversized community is split along before it is split
	// arbitrarily, in order: "language" (from the locale), "skill", or
	// "attributes.KEY" (a member attribute such as attributes.city).
	Facets []string
	// DryRun computes the run and reports what it would change against the current
	// run (RunResult.DryRun), then rolls it back: nothing is published or kept.
	DryRun bool
	// OnPublish, when set, runs in the publishing transaction once the run is written
	// and before it becomes current, with the run that was current (0 for none): what
	// it writes commits with the run or not at all.
	OnPublish func(ctx context.Context, tx pgx.Tx, run, previous int64) error
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
	clustering.Metrics
	// DryRun is what a dry run would change (JobConfig.DryRun); RunID is then 0.
	DryRun *DryRunReport `json:"dry_run,omitempty"`
}

// DryRunReport is what a run would change against the current run, beyond its
// metrics (churn, births, deaths, sizes).
type DryRunReport struct {
	// Renamed are communities that keep their id under another name.
	Renamed []Renamed `json:"renamed"`
	// Splits are current communities whose members would mostly go to two or more
	// communities; Merges are proposed communities that would draw a sizeable share
	// of their members from two or more current ones (splitsAndMerges). Largest first.
	Splits []Split `json:"splits"`
	Merges []Merge `json:"merges"`
	// Sizes counts the proposed communities by size: up to each bound, and above;
	// CurrentSizes counts the current run's the same way (empty without one).
	Sizes        []SizeBucket `json:"sizes"`
	CurrentSizes []SizeBucket `json:"current_sizes"`
	// Current is the shape of the current run, to read the proposed metrics against;
	// nil without one.
	Current *RunShape `json:"current,omitempty"`
}

// RunShape is how many communities a run has and how large they are.
type RunShape struct {
	Communities int `json:"communities"`
	MinSize     int `json:"min_size"`
	MedianSize  int `json:"median_size"`
	MaxSize     int `json:"max_size"`
}

// Renamed is a community whose name would change.
type Renamed struct {
	ID      string `json:"id"`
	Was     string `json:"was"`
	Becomes string `json:"becomes"`
}

// SizeBucket counts communities of at most UpTo members (0: the rest).
type SizeBucket struct {
	UpTo        int `json:"up_to"`
	Communities int `json:"communities"`
}

// errDryRun rolls back a dry run's transaction once its report is taken.
var errDryRun = errors.New("dry run")

func sizeBuckets(sizes []int) []SizeBucket {
	bounds := []int{10, 25, 50, 100, 150}
	out := make([]SizeBucket, len(bounds)+1)
	for i, b := range bounds {
		out[i].UpTo = b
	}
	for _, s := range sizes {
		i := 0
		for i < len(bounds) && s > bounds[i] {
			i++
		}
		out[i].Communities++
	}
	return out
}

// ErrRunning means another cluster run holds the lock.
var ErrRunning = belong.New(belong.ECONFLICT, "cluster_run_in_progress", "another cluster run is in progress; try again when it has finished")

// ErrNoVectors means there is nothing to cluster: run `belong embed` first.
var ErrNoVectors = belong.New(belong.EUNPROCESSABLE, "no_vectors", "no member vectors to cluster: run `belong embed` first")

// RunLockKey is the SQL expression of the advisory lock that keeps two cluster runs
// apart. It is scoped to the schema, so deployments (and tests) that share a database
// in separate schemas do not block one another.
const RunLockKey = storage.RunLockKey

// Stale reports whether the vectors of model changed since the current run started:
// true when there is no run, a vector was written after it began, or the number of
// clusterable members differs from what it clustered.
func Stale(ctx context.Context, db database.DBTX, model string) (bool, error) {
	stale, err := storage.New(db).RunStale(ctx, model)
	if err != nil {
		return false, fmt.Errorf("check for changes since the last run: %w", storage.Translate(err, nil))
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
	cfg.SecondaryQuantile = cmp.Or(cfg.SecondaryQuantile, 0.5)
	cfg.SilhouetteSample = cmp.Or(cfg.SilhouetteSample, 2000)

	// The lock is a transaction's, on a connection of its own for the whole run, so
	// it holds behind a transaction-pooling PgBouncer too.
	lock, locked, err := database.TryLock(ctx, j.DB, RunLockKey)
	if err != nil {
		return RunResult{}, fmt.Errorf("cluster run: lock: %w", storage.Translate(err, nil))
	}
	if !locked {
		return RunResult{}, ErrRunning
	}
	defer lock.Release(ctx)
	conn, err := j.DB.Acquire(ctx)
	if err != nil {
		return RunResult{}, fmt.Errorf("cluster run: %w", err)
	}
	defer conn.Release()

	q := storage.New(conn)
	params, err := json.Marshal(paramsOf(cfg))
	if err != nil {
		return RunResult{}, fmt.Errorf("cluster run: record: %w", err)
	}
	// Holding the lock, no other run is alive: rows still "running" are dead ones.
	if n, err := q.FailDeadRuns(ctx, deadRunError); err != nil {
		return RunResult{}, fmt.Errorf("cluster run: record dead runs: %w", storage.Translate(err, nil))
	} else if n > 0 && j.Logger != nil {
		j.Logger.WarnContext(ctx, "earlier cluster runs had died; recorded as failed", slog.Int64("runs", n))
	}
	runID, err := q.CreateRun(ctx, storage.CreateRunParams{Model: cfg.Model, Params: params})
	if err != nil {
		return RunResult{}, fmt.Errorf("cluster run: record: %w", storage.Translate(err, nil))
	}
	res, err := j.run(ctx, conn, runID, cfg)
	if err != nil {
		// Recorded on a fresh context: ctx may be why the run failed.
		ferr := q.FailRun(context.WithoutCancel(ctx), storage.FailRunParams{ID: runID, Error: err.Error()})
		return RunResult{}, errors.Join(err, storage.Translate(ferr, nil))
	}
	res.DurationMS = time.Since(started).Milliseconds()
	if cfg.DryRun {
		// Everything it wrote was rolled back but its record: nothing of it is kept.
		return res, storage.Translate(q.DeleteRun(context.WithoutCancel(ctx), runID), nil)
	}
	res.RunID = runID
	metrics, err := json.Marshal(res.Metrics)
	if err != nil {
		return res, fmt.Errorf("record run metrics: %w", err)
	}
	if err := q.SetRunMetrics(ctx, storage.SetRunMetricsParams{ID: runID, Metrics: metrics}); err != nil {
		return res, fmt.Errorf("record run metrics: %w", storage.Translate(err, nil))
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
	c := cfg.Cluster.WithDefaults()
	return map[string]any{"target_size": c.TargetSize, "min_size": c.MinSize, "max_size": c.MaxSize,
		"seed": c.Seed, "max_iter": c.MaxIter, "sticky_margin": c.StickyMargin, "match_min": c.MatchMin,
		"tribe_size": c.TribeSize, "secondary": cfg.Secondary, "secondary_quantile": cfg.SecondaryQuantile,
		"facets": nonNil(cfg.Facets)}
}

// previousRun is what the current run left for this one to continue from.
type previousRun struct {
	ids, tribeIDs             []string
	centroids, tribeCentroids [][]float32
	primary                   map[string]string
	tribeOf                   map[string]string // community id → tribe id
}

func loadPrevious(ctx context.Context, db database.DBTX, model string) (previousRun, error) {
	var p previousRun
	q := storage.New(db)
	run, err := q.CurrentRunForModel(ctx, model)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read previous run: %w", storage.Translate(err, nil))
	}
	comms, err := q.CommunityCentroids(ctx, run)
	if err != nil {
		return p, fmt.Errorf("read previous communities: %w", storage.Translate(err, nil))
	}
	p.tribeOf = make(map[string]string, len(comms))
	for _, c := range comms {
		p.ids = append(p.ids, c.ID)
		p.centroids = append(p.centroids, c.Centroid.Slice())
		p.tribeOf[c.ID] = c.TribeID
	}
	tribes, err := q.TribeCentroids(ctx, run)
	if err != nil {
		return p, fmt.Errorf("read previous tribes: %w", storage.Translate(err, nil))
	}
	for _, t := range tribes {
		p.tribeIDs = append(p.tribeIDs, t.ID)
		p.tribeCentroids = append(p.tribeCentroids, t.Centroid.Slice())
	}
	ms, err := q.PrimaryMemberships(ctx, run)
	if err != nil {
		return p, fmt.Errorf("read previous memberships: %w", storage.Translate(err, nil))
	}
	p.primary = make(map[string]string, len(ms))
	for _, m := range ms {
		p.primary[m.MemberID] = m.CommunityID
	}
	return p, nil
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
	info, err := readMemberInfo(ctx, conn, vecs)
	if err != nil {
		return RunResult{}, err
	}
	cc := cfg.Cluster
	if cc.Facets, err = facetValues(info, cfg.Facets); err != nil {
		return RunResult{}, err
	}
	// A place can tell apart communities alike in everything else (languages and
	// skill bands already can: readMemberInfo).
	// How members write attribute values, for labels and compositions (which name
	// places by the city attribute when no place facet is set).
	forms := writtenForms(info.attrs, append(slices.Clone(cfg.Facets), "attributes.city"))
	for f, name := range cfg.Facets {
		if strings.HasPrefix(name, "attributes.") {
			for i, v := range cc.Facets[f] {
				if v != "" {
					info.facets[i] = append(info.facets[i], "in "+facetLabel(name, v, forms))
				}
			}
		}
	}
	maxIter := cc.WithDefaults().MaxIter
	cc.Progress = func(it, _ int) { j.progress("k-means", it, maxIter) }
	// The vectors are most of the heap and hold no pointers, so collecting often is
	// cheap: with the collector's default the heap may grow to twice what is live
	// before a cycle; a quarter keeps the run's peak near the vectors themselves.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	cl, err := clustering.Cluster(ctx, x, clustering.Previous{IDs: prev.ids, Centroids: prev.centroids, Primary: prevPrimary, TribeCentroids: prev.tribeCentroids}, cc)
	if err != nil {
		return RunResult{}, err
	}
	j.progress("k-means", maxIter, maxIter)
	k := len(cl.Centroids)

	j.progress("tribes", 0, 1)
	tribeOf, tribeCents := cl.Tribe, cl.TribeCentroids
	memberTribe := make([]int, len(x))
	for i, c := range cl.Assign {
		memberTribe[i] = tribeOf[c]
	}
	terms := info.terms
	labels := clustering.Label(terms, cl.Assign, k, clustering.LabelConfig{Key: members.TermKey, Group: tribeOf, Facets: info.facets})
	comps := compositions(info, cl.Assign, k, cfg.Facets, cc.Facets, forms)
	tribeLabels := clustering.Label(terms, memberTribe, len(tribeCents), clustering.LabelConfig{Max: 3, Key: members.TermKey})
	// A tribe whose members share no term by majority is named by what leads its two
	// largest communities: it is their union, not a theme of its own.
	for t, ls := range tribeLabels {
		if len(ls) > 0 {
			continue
		}
		var cs []int
		for c, tc := range tribeOf {
			if tc == t && len(labels[c]) > 0 {
				cs = append(cs, c)
			}
		}
		slices.SortFunc(cs, func(a, b int) int { return cl.Sizes[b] - cl.Sizes[a] })
		for _, c := range cs {
			if len(tribeLabels[t]) < 2 && !slices.Contains(tribeLabels[t], labels[c][0]) {
				tribeLabels[t] = append(tribeLabels[t], labels[c][0])
			}
		}
	}
	j.progress("tribes", 1, 1)

	j.progress("memberships", 0, 1)
	// With the language facet a secondary community speaks the member's language:
	// look further, then keep those.
	byLanguage := slices.Contains(cfg.Facets, "language")
	candidates := 1 + max(cfg.Secondary, 0)
	if byLanguage {
		candidates += 4
	}
	near, sims, err := clustering.NearestProbed(x, cl.Centroids, candidates, 3)
	if err != nil {
		return RunResult{}, err
	}
	m := clustering.Metrics{Members: len(x), Communities: k, Tribes: len(tribeCents), Iterations: cl.Iterations,
		Splits: cl.Splits, Dissolved: cl.Dissolved}
	var cohesion float64
	for _, s := range cl.Score {
		cohesion += float64(s)
	}
	m.Cohesion = round3(cohesion / float64(len(x)))
	m.Silhouette = round3(clustering.Silhouette(x, cl.Assign, k, cfg.SilhouetteSample, cc.Seed))
	fits := make([]float64, len(cl.Score))
	for i, s := range cl.Score {
		fits[i] = float64(s)
	}
	secondaryMin := float32(clustering.Quantile(fits, cfg.SecondaryQuantile))
	m.SecondaryMin = round3(float64(secondaryMin))
	pairMean, peerFloor := clustering.PairCosines(x, 20000, 0.5, cc.Seed)
	m.PairCosine, m.PeerFloor = round3(pairMean), round3(peerFloor)
	m.MinSize, m.MedianSize, m.MaxSize = clustering.SizeStats(cl.Sizes)
	j.progress("memberships", 1, 1)

	j.progress("publish", 0, 1)
	var dry *DryRunReport
	err = database.InTx(ctx, conn, func(tx pgx.Tx) error {
		ids, births, err := continueIDs(ctx, tx, "c-", "community_seq", cl.PrevIndex, prev.ids)
		if err != nil {
			return err
		}
		m.Births, m.Deaths = births, len(prev.ids)-(k-births)
		tribeIDs, tribeBirths, err := continueIDs(ctx, tx, "t-", "tribe_seq", clustering.MatchCentroids(tribeCents, prev.tribeCentroids, cc.WithDefaults().MatchMin), prev.tribeIDs)
		if err != nil {
			return err
		}
		m.TribeBirths, m.TribeDeaths = tribeBirths, len(prev.tribeIDs)-(len(tribeCents)-tribeBirths)
		tribeSize := make([]int, len(tribeCents))
		tribeCount := make([]int, len(tribeCents))
		for c, t := range tribeOf {
			tribeSize[t] += cl.Sizes[c]
			tribeCount[t]++
		}
		q := storage.New(tx)
		trows := make([]storage.InsertTribesParams, len(tribeCents))
		for t := range tribeCents {
			trows[t] = storage.InsertTribesParams{RunID: runID, ID: tribeIDs[t], Centroid: pgvector.NewVector(tribeCents[t]),
				Size: int32(tribeSize[t]), Communities: int32(tribeCount[t]), Labels: nonNil(tribeLabels[t]), Name: clustering.Name(tribeLabels[t])}
		}
		if _, err := q.InsertTribes(ctx, trows); err != nil {
			return fmt.Errorf("write tribes: %w", storage.Translate(err, nil))
		}
		crows := make([]storage.InsertCommunitiesParams, k)
		for c := range cl.Centroids {
			comp, err := json.Marshal(comps[c])
			if err != nil {
				return fmt.Errorf("write communities: %w", err)
			}
			crows[c] = storage.InsertCommunitiesParams{RunID: runID, ID: ids[c], Centroid: pgvector.NewVector(cl.Centroids[c]),
				Size: int32(cl.Sizes[c]), Labels: nonNil(labels[c]), Name: clustering.Name(labels[c]), TribeID: &tribeIDs[tribeOf[c]],
				Composition: comp}
		}
		if _, err := q.InsertCommunities(ctx, crows); err != nil {
			return fmt.Errorf("write communities: %w", storage.Translate(err, nil))
		}
		var moved, movedTribe, both, withSecondary int
		ms := make([]storage.Membership, 0, len(x)*2)
		for i, v := range vecs {
			primary := cl.Assign[i]
			ms = append(ms, storage.Membership{RunID: runID, MemberID: v.MemberID, CommunityID: ids[primary],
				Rank: 1, Score: cl.Score[i]})
			rank := int16(2)
			lang := members.Language(info.lang[i])
			for t, c := range near[i] {
				if c == primary || sims[i][t] < secondaryMin || int(rank) > 1+cfg.Secondary {
					continue
				}
				if byLanguage && lang != "" && mainLanguage(comps[c]) != "" && mainLanguage(comps[c]) != lang {
					continue
				}
				ms = append(ms, storage.Membership{RunID: runID, MemberID: v.MemberID, CommunityID: ids[c],
					Rank: rank, Score: sims[i][t]})
				rank++
			}
			if rank > 2 {
				withSecondary++
			}
			if p := prevPrimary[i]; p != "" {
				both++
				if p != ids[primary] {
					moved++
				}
				if prev.tribeOf[p] != tribeIDs[tribeOf[primary]] {
					movedTribe++
				}
			}
		}
		if both > 0 {
			m.Churn = round3(float64(moved) / float64(both))
			m.TribeChurn = round3(float64(movedTribe) / float64(both))
		}
		m.Secondary = round3(float64(withSecondary) / float64(len(x)))
		// Members erased since their vectors were read are left out: erasure wins,
		// and the run goes on without them.
		if _, err := storage.WriteMemberships(ctx, tx, ms); err != nil {
			return fmt.Errorf("write memberships: %w", storage.Translate(err, nil))
		}
		if cfg.DryRun {
			prev, err := CurrentRun(ctx, tx)
			if err != nil && !errors.Is(err, ErrNoRun) {
				return err
			}
			renamed, err := q.RenamedCommunities(ctx, storage.RenamedCommunitiesParams{Run: runID, Previous: prev})
			if err != nil {
				return fmt.Errorf("dry run: %w", storage.Translate(err, nil))
			}
			dry = &DryRunReport{Renamed: make([]Renamed, len(renamed)), Sizes: sizeBuckets(cl.Sizes)}
			for i, r := range renamed {
				dry.Renamed[i] = Renamed{ID: r.ID, Was: r.Was, Becomes: r.Becomes}
			}
			if err := compareRuns(ctx, q, runID, prev, dry); err != nil {
				return fmt.Errorf("dry run: %w", err)
			}
			return errDryRun
		}
		if _, err := q.WriteRunVectors(ctx, runID); err != nil {
			return fmt.Errorf("write run vectors: %w", storage.Translate(err, nil))
		}
		if _, err := q.WriteRunPeers(ctx, runID); err != nil {
			return fmt.Errorf("write run peers: %w", storage.Translate(err, nil))
		}
		metrics, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("mark run published: %w", err)
		}
		if err := q.MarkRunPublished(ctx, storage.MarkRunPublishedParams{ID: runID, Metrics: metrics}); err != nil {
			return fmt.Errorf("mark run published: %w", storage.Translate(err, nil))
		}
		if err := q.AnalyzeRunTables(ctx); err != nil { // run_vectors and run_peers included
			return fmt.Errorf("analyze run tables: %w", storage.Translate(err, nil))
		}
		if cfg := j.Config; cfg.OnPublish != nil {
			prev, err := CurrentRun(ctx, tx)
			if errors.Is(err, ErrNoRun) {
				prev, err = 0, nil
			}
			if err != nil {
				return err
			}
			if err := cfg.OnPublish(ctx, tx, runID, prev); err != nil {
				return err
			}
		}
		if err := q.SetCurrentRun(ctx, runID); err != nil {
			return fmt.Errorf("publish run: %w", storage.Translate(err, nil))
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return RunResult{Metrics: m, DryRun: dry}, nil
	}
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
	next, err := storage.New(tx).AllocateIDs(ctx, storage.AllocateIDsParams{Prefix: prefix, Seq: seq, N: int32(fresh)})
	if err != nil {
		return nil, 0, fmt.Errorf("allocate ids: %w", storage.Translate(err, nil))
	}
	if len(next) != fresh {
		return nil, 0, fmt.Errorf("allocate ids: got %d of %d", len(next), fresh)
	}
	for i := range ids {
		if ids[i] == "" {
			ids[i], next = next[0], next[1:]
		}
	}
	return ids, fresh, nil
}

// readMemberInfo reads each member's terms (interests, causes, activity categories),
// facet values (skill band, language), skill level, language and recent events, in
// the order of vecs.
func readMemberInfo(ctx context.Context, db database.DBTX, vecs []embeddings.Vector) (info memberInfo, err error) {
	ids := make([]string, len(vecs))
	for i, v := range vecs {
		ids[i] = v.MemberID
	}
	rows, err := storage.New(db).MemberTermsByID(ctx, ids)
	if err != nil {
		return info, fmt.Errorf("read member interests: %w", storage.Translate(err, nil))
	}
	if len(rows) != len(vecs) {
		return info, fmt.Errorf("read member interests: %d rows for %d members", len(rows), len(vecs))
	}
	n := len(rows)
	info = memberInfo{terms: make([][]string, n), facets: make([][]string, n), skill: make([]string, n),
		lang: make([]string, n), events30: make([]int, n), attrs: make([]map[string]any, n)}
	for i, r := range rows {
		info.terms[i], info.skill[i], info.lang[i], info.events30[i] = r.Terms, r.SkillLevel, r.Locale, int(r.Events30d)
		if len(r.Attributes) > 2 {
			_ = json.Unmarshal(r.Attributes, &info.attrs[i]) // an object by construction (members.Normalize)
		}
		if s := skillFacets[r.SkillLevel]; s != "" {
			info.facets[i] = append(info.facets[i], s)
		}
		if l := languageFacets[members.Language(r.Locale)]; l != "" {
			info.facets[i] = append(info.facets[i], l)
		}
	}
	return info, nil
}

// skillFacets and languageFacets name the facets that tell apart communities whose
// interests are the same.
var (
	skillFacets    = map[string]string{"beginner": "beginners", "intermediate": "intermediate", "advanced": "advanced", "expert": "experts"}
	languageFacets = map[string]string{"en": "in English", "sv": "in Swedish", "it": "in Italian", "de": "in German",
		"fr": "in French", "es": "in Spanish", "nl": "in Dutch", "da": "in Danish", "nb": "in Norwegian", "no": "in Norwegian",
		"fi": "in Finnish", "pt": "in Portuguese", "pl": "in Polish", "ja": "in Japanese", "zh": "in Chinese"}
)

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// facetValues gives each named facet's value for every member, for splitting
// oversized communities (clustering.ClusterConfig.Facets).
func facetValues(info memberInfo, names []string) ([][]string, error) {
	out := make([][]string, 0, len(names))
	for _, name := range names {
		values := make([]string, len(info.terms))
		switch key, isAttr := strings.CutPrefix(name, "attributes."); {
		case name == "language":
			for i, l := range info.lang {
				values[i] = members.Language(l)
			}
		case name == "skill":
			copy(values, info.skill)
		case isAttr && key != "":
			for i, a := range info.attrs {
				if v, ok := a[key].(string); ok {
					values[i] = strings.ToLower(strings.TrimSpace(v))
				}
			}
		default:
			return nil, fmt.Errorf("facet %q: want language, skill or attributes.KEY", name)
		}
		out = append(out, values)
	}
	return out, nil
}

// mainLanguage is the language most of a community's members speak, or "" when
// none is spoken by most.
func mainLanguage(c Composition) string {
	if len(c.Languages) > 0 && c.Languages[0].Share > 0.5 {
		return c.Languages[0].Value
	}
	return ""
}
