package matching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// View is the published run held in memory: its communities (names, labels, sizes,
// tribes) and their unit-length centroids. A run never changes once published, so a
// View is immutable and shared by every request; the next run gets a new View,
// swapped in atomically by Runs.
type View struct {
	ID    int64
	Model string
	// PeerFloor is the median cosine of random pairs of members in this run
	// (clustering.Metrics.PeerFloor): peers below it are not served. -1 for runs
	// that measured none.
	PeerFloor float64
	// ByLanguage says the run divided communities by language (the language facet):
	// peers across a tribe or everyone then speak the member's language too.
	ByLanguage bool
	// Communities are ordered by id.
	Communities []Community
	// Tribes by id.
	Tribes map[string]*Tribe
	byID   map[string]int
	// keys[i] are the TermKeys of community i's labels (for reasons).
	keys [][]string
	// centroids is k×dim, row-major, each row of unit length.
	centroids []float32
	dim       int
}

// Bytes estimates the memory the view holds: centroids, strings and slice headers.
func (v *View) Bytes() int64 {
	n := int64(len(v.centroids)) * 4
	str := func(s string) int64 { return int64(len(s)) + 16 }
	for i, c := range v.Communities {
		n += 2*str(c.ID) + str(c.Name) + 64 + 24 // the struct, plus the id again in byID
		for j, l := range c.Labels {
			n += str(l) + str(v.keys[i][j])
		}
	}
	for _, t := range v.Tribes {
		n += str(t.ID) + str(t.Name) + 64
		for _, l := range t.Labels {
			n += str(l)
		}
	}
	return n
}

// Rank returns the limit communities nearest to vec by cosine similarity, best first
// (ranked, the first primary), with the terms their labels share as reasons. It is a
// matrix-vector product over the centroids (gonum's BLAS) and a partial sort: no
// database.
func (v *View) Rank(vec []float32, terms []string, limit int) ([]Match, error) {
	k := len(v.Communities)
	if len(vec) != v.dim {
		return nil, fmt.Errorf("rank communities: vector has %d dimensions, run %d has %d", len(vec), v.ID, v.dim)
	}
	if k == 0 {
		return []Match{}, nil
	}
	var norm float64
	for _, x := range vec {
		norm += float64(x) * float64(x)
	}
	scores := make([]float32, k)
	if norm > 0 {
		// gonum's own Go implementation, not the process-wide blas32 one: builds with
		// -tags openblas route that to OpenBLAS, whose threads crashed (SIGSEGV in
		// cblas_sgemv) and spun under thousands of concurrent requests a second.
		gonum.Implementation{}.Sgemv(blas.NoTrans, k, v.dim, float32(1/math.Sqrt(norm)), v.centroids, v.dim,
			vec, 1, 0, scores, 1)
	}
	best, _ := clustering.Best(scores, limit)
	termKeys := keysOf(terms)
	out := make([]Match, len(best))
	for i, c := range best {
		out[i] = v.match(c, float64(scores[c]), terms, termKeys)
	}
	return ranked(out), nil
}

// TribeCommunities returns the ids of the communities of a tribe.
func (v *View) TribeCommunities(tribeID string) []string {
	var out []string
	for _, c := range v.Communities {
		if c.Tribe != nil && c.Tribe.ID == tribeID {
			out = append(out, c.ID)
		}
	}
	return out
}

// Primary is community id as a member's primary community, with their similarity to
// it and the terms (their interests and causes) its labels share.
func (v *View) Primary(id string, score float64, terms []string) (Match, bool) {
	i, ok := v.byID[id]
	if !ok {
		return Match{}, false
	}
	m := v.match(i, score, terms, keysOf(terms))
	m.Rank, m.Primary = 1, true
	return m, true
}

// match is community i as a match with the given score; reasons are the terms whose
// keys its labels share.
func (v *View) match(i int, score float64, terms, termKeys []string) Match {
	c := v.Communities[i]
	return Match{ID: c.ID, Name: c.Name, Score: round3(score), Labels: c.Labels, Tribe: c.Tribe,
		Reasons: sharedKeys(terms, termKeys, v.keys[i])}
}

// keysOf returns the TermKey of each term.
func keysOf(terms []string) []string {
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = members.TermKey(t)
	}
	return out
}

// sharedKeys returns the terms (with their keys) whose key is among keys, in order:
// the interests and causes a member shares with a community's labels or a peer.
func sharedKeys(terms, termKeys, keys []string) []string {
	out := []string{}
	for i, t := range terms {
		if slices.Contains(keys, termKeys[i]) {
			out = append(out, t)
		}
	}
	return out
}

// loadView reads a published run into memory.
func loadView(ctx context.Context, db database.DBTX, cur storage.CurrentRunModelRow) (*View, error) {
	id, model := cur.ID, cur.Model
	q := storage.New(db)
	tribes, err := q.RunTribes(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load run %d tribes: %w", id, storage.Translate(err, nil))
	}
	rows, err := q.RunCommunities(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load run %d communities: %w", id, storage.Translate(err, nil))
	}
	v := &View{ID: id, Model: model, PeerFloor: cur.PeerFloor, ByLanguage: cur.ByLanguage, Tribes: make(map[string]*Tribe, len(tribes)), byID: make(map[string]int, len(rows)),
		Communities: make([]Community, len(rows)), keys: make([][]string, len(rows))}
	for _, t := range tribes {
		v.Tribes[t.ID] = &Tribe{ID: t.ID, Name: t.Name, Labels: t.Labels}
	}
	for i, r := range rows {
		c := Community{ID: r.ID, RunID: id, Name: r.Name, Size: int(r.Size), Labels: r.Labels}
		if r.TribeID != nil {
			c.Tribe = v.Tribes[*r.TribeID]
		}
		v.Communities[i], v.byID[r.ID], v.keys[i] = c, i, keysOf(r.Labels)
		vec := r.Centroid.Slice()
		if i == 0 {
			v.dim = len(vec)
			v.centroids = make([]float32, 0, len(rows)*v.dim)
		}
		if len(vec) != v.dim {
			return nil, fmt.Errorf("load run %d: community %s has %d dimensions, not %d", id, r.ID, len(vec), v.dim)
		}
		v.centroids = append(v.centroids, unit(vec)...)
	}
	return v, nil
}

// unit returns vec scaled to unit length (zero stays zero).
func unit(vec []float32) []float32 {
	var n float64
	for _, x := range vec {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return vec
	}
	s := float32(1 / math.Sqrt(n))
	out := make([]float32, len(vec))
	for i, x := range vec {
		out[i] = x * s
	}
	return out
}

// Runs holds the current run's View for a process. Current answers from memory;
// Refresh (after this process publishes a run) and Watch (a poll of current_run, for
// runs other processes publish) swap in the next run's View.
type Runs struct {
	db   database.DBTX
	cur  atomic.Pointer[View]
	load sync.Mutex // one load at a time
}

// NewRuns returns a holder over db; the first Current loads the view.
func NewRuns(db database.DBTX) *Runs { return &Runs{db: db} }

// Current returns the current run's view, loading it if none is held. ErrNoRun
// means no run has been published.
func (r *Runs) Current(ctx context.Context) (*View, error) {
	if v := r.cur.Load(); v != nil {
		return v, nil
	}
	if err := r.Refresh(ctx); err != nil {
		return nil, err
	}
	return r.cur.Load(), nil
}

// Refresh reads which run is current and loads it unless it is already held.
func (r *Runs) Refresh(ctx context.Context) error {
	r.load.Lock()
	defer r.load.Unlock()
	cur, err := storage.New(r.db).CurrentRunModel(ctx)
	if err != nil {
		return notFoundOr(err, ErrNoRun, "read current run")
	}
	if v := r.cur.Load(); v != nil && v.ID == cur.ID {
		return nil
	}
	v, err := loadView(ctx, r.db, cur)
	if err != nil {
		return err
	}
	r.cur.Store(v)
	return nil
}

// Watch refreshes every interval until ctx ends, so runs published by other
// processes are served within one interval. Failures are logged and retried.
func (r *Runs) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		before := r.cur.Load()
		err := r.Refresh(ctx)
		switch v := r.cur.Load(); {
		case err != nil && ctx.Err() == nil && !errors.Is(err, ErrNoRun):
			log.WarnContext(ctx, "refresh cluster run", slog.String("error", err.Error()))
		case v != nil && v != before:
			log.InfoContext(ctx, "serving cluster run", slog.Int64("run_id", v.ID),
				slog.Int("communities", len(v.Communities)), slog.Int64("bytes", v.Bytes()))
		}
	}
}
