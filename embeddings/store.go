package embeddings

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// HalfLife is how fast behaviour fades from a profile: an event this old counts half.
const HalfLife = 30 * 24 * time.Hour

// Backfill embeds every consenting member whose profile changed since their vector was
// made (or whose vector came from another model), and deletes the vectors of members
// who no longer consent. It is safe to re-run: a second run finds nothing to do.
type Backfill struct {
	DB       database.DBTX
	Embedder Embedder
	Logger   *slog.Logger
	// Now is the clock that ages events; time.Now when nil.
	Now func() time.Time
	// BatchSize is how many members each read and write handles; 2,000 when zero.
	BatchSize int
	// Shard, when set, embeds only the members whose ids lie in it, and leaves
	// removing vectors without consent and the bulk-load index drop to the caller (a
	// shard of the nightly pipeline, beside others).
	Shard *Shard
	// At is when activity is aged to; Now() when zero. Shards of one pipeline share it.
	At time.Time
}

// Shard is a range of member ids: after After (all when empty), up to and including
// Until (to the end when empty).
type Shard struct {
	After, Until string
}

// contains reports whether id lies in the shard.
func (s *Shard) contains(id string) bool {
	return s == nil || s.Until == "" || id <= s.Until
}

// BackfillResult counts what a run did.
type BackfillResult struct {
	Embedded  int `json:"embedded"`
	Unchanged int `json:"unchanged"`
	Removed   int `json:"removed"`
}

type pending struct {
	id      string
	profile Profile
	hash    []byte
	stale   bool
}

// RunOnce embeds what changed, in batches of BatchSize members.
//
// When most members have no vector yet (a first load, a model change) it drops the
// vector indexes, loads, and builds them again: building an HNSW index over loaded
// rows is many times faster than inserting into it row by row. Peer queries fall back
// to exact search while the index is being rebuilt.
func (b *Backfill) RunOnce(ctx context.Context) (res BackfillResult, err error) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	batch := b.BatchSize
	if batch <= 0 {
		batch = 2000
	}
	model := b.Embedder.Model()
	if b.Embedder.Dim() != Dim {
		return res, fmt.Errorf("embedder %s makes %d dimensions; the schema stores %d", model, b.Embedder.Dim(), Dim)
	}

	q := storage.New(b.DB)
	var rebuild func(context.Context) error
	if b.Shard == nil {
		removed, err := q.DeleteVectorsWithoutConsent(ctx)
		if err != nil {
			return res, fmt.Errorf("remove vectors without consent: %w", storage.Translate(err, nil))
		}
		res.Removed = int(removed)
		if rebuild, err = b.dropIndexesForBulk(ctx); err != nil {
			return res, err
		}
	}
	if rebuild != nil {
		// However the load ends, the indexes come back.
		defer func() {
			if rerr := rebuild(context.WithoutCancel(ctx)); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}

	at := b.At
	if at.IsZero() {
		at = now()
	}
	after := ""
	if b.Shard != nil {
		after = b.Shard.After
	}
	for {
		all, last, seen, err := b.read(ctx, model, at, after, batch, 1)
		if err != nil {
			return res, err
		}
		var todo []pending
		inShard := 0
		for _, p := range all {
			if !b.Shard.contains(p.id) { // ids come in order: the shard ends here
				seen = 0
				break
			}
			inShard++
			if p.stale {
				todo = append(todo, p)
			}
		}
		res.Unchanged += inShard - len(todo)
		if len(todo) > 0 {
			if err := b.write(ctx, model, todo); err != nil {
				return res, err
			}
			res.Embedded += len(todo)
		}
		if seen < batch {
			break
		}
		after = last
	}
	if res.Embedded > 0 {
		if err := q.AnalyzeVectors(ctx); err != nil {
			return res, fmt.Errorf("analyze member_vectors: %w", storage.Translate(err, nil))
		}
	}
	if b.Logger != nil {
		b.Logger.InfoContext(ctx, "members embedded", slog.String("model", model),
			slog.Int("embedded", res.Embedded), slog.Int("unchanged", res.Unchanged), slog.Int("removed", res.Removed))
	}
	return res, nil
}

// dropIndexesForBulk drops member_vectors' vector indexes when at least half of the
// consenting members lack a current vector, and returns the function that recreates
// them from their saved definitions (the migrations stay the one place they are
// defined). It returns nil when the indexes stay.
func (b *Backfill) dropIndexesForBulk(ctx context.Context) (func(context.Context) error, error) {
	q := storage.New(b.DB)
	n, err := q.CountVectorsAndConsenting(ctx, b.Embedder.Model())
	if err != nil {
		return nil, fmt.Errorf("count vectors: %w", storage.Translate(err, nil))
	}
	if stored, wanted := int(n.Stored), int(n.Wanted); wanted < bulkMinRows || stored*2 > wanted {
		return nil, nil
	}
	defs, err := q.VectorIndexes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read vector indexes: %w", storage.Translate(err, nil))
	}
	if len(defs) == 0 {
		return nil, nil
	}
	for _, ix := range defs {
		if err := storage.DropIndex(ctx, b.DB, ix.Name); err != nil {
			return nil, fmt.Errorf("drop %s for bulk load: %w", ix.Name, storage.Translate(err, nil))
		}
	}
	return func(ctx context.Context) error {
		for _, ix := range defs {
			if err := storage.CreateIndex(ctx, b.DB, ix.Def); err != nil {
				return fmt.Errorf("rebuild %s: %w", ix.Name, storage.Translate(err, nil))
			}
		}
		return nil
	}, nil
}

// bulkMinRows is the membership below which indexes are never dropped: small loads
// are fast either way.
const bulkMinRows = 1000

// read reads the next batch of consenting members after id `after` (about one in
// every, by a hash of the id, when every is above 1), with their recency-decayed
// activity, and marks those whose vector is stale.
func (b *Backfill) read(ctx context.Context, model string, at time.Time, after string, limit, every int) (all []pending, last string, seen int, err error) {
	rows, err := storage.New(b.DB).MembersToEmbed(ctx, storage.MembersToEmbedParams{After: after, Lim: int32(limit),
		At: at, HalfLife: HalfLife.Seconds(), Every: int32(every)})
	if err != nil {
		return nil, "", 0, fmt.Errorf("read members to embed: %w", storage.Translate(err, nil))
	}
	for _, r := range rows {
		p := pending{id: r.ID, profile: Profile{Interests: r.Interests, Causes: r.Causes, SkillLevel: r.SkillLevel}}
		for i := range r.Types {
			p.profile.Activity = append(p.profile.Activity, Activity{Type: r.Types[i], Category: r.Categories[i], Weight: r.Weights[i]})
		}
		seen++
		last = p.id
		p.hash = p.profile.Hash(model)
		p.stale = !bytes.Equal(p.hash, r.SourceHash)
		all = append(all, p)
	}
	return all, last, seen, nil
}

func (b *Backfill) write(ctx context.Context, model string, todo []pending) error {
	profiles := make([]Profile, len(todo))
	for i, p := range todo {
		profiles[i] = p.profile
	}
	vecs, err := b.Embedder.Embed(ctx, profiles)
	if err != nil {
		return fmt.Errorf("embed %d members: %w", len(todo), err)
	}
	if len(vecs) != len(todo) {
		return fmt.Errorf("embedder %s returned %d vectors for %d profiles", model, len(vecs), len(todo))
	}
	rows := make([]storage.StagedVector, len(todo))
	for i, p := range todo {
		if len(vecs[i]) != Dim {
			return fmt.Errorf("embedder %s returned %d dimensions, want %d", model, len(vecs[i]), Dim)
		}
		rows[i] = storage.StagedVector{MemberID: p.id, Model: model, Embedding: pgvector.NewVector(vecs[i]), SourceHash: p.hash}
	}
	err = database.InTx(ctx, b.DB, func(tx pgx.Tx) error {
		return storage.WriteVectors(ctx, tx, rows)
	})
	return storage.Translate(err, nil)
}

// Vector is one member's stored vector.
type Vector struct {
	MemberID string
	// Vec shares one array with the vectors loaded with it (Load): never append to it.
	Vec []float32
}

// Load returns the vectors of consenting members made by model, ordered by member id.
// They lie in one array, row after row, so k-means fits them where they are: a
// million 256-dimension vectors take 1 GiB once.
func Load(ctx context.Context, db database.DBTX, model string) ([]Vector, error) {
	n, err := storage.New(db).CountLoadVectors(ctx, model)
	if err != nil {
		return nil, fmt.Errorf("load member vectors: %w", storage.Translate(err, nil))
	}
	out := make([]Vector, 0, n)
	var slab []float32
	err = storage.EachVector(ctx, db, model, func(id string, vec []float32) error {
		if slab == nil {
			slab = make([]float32, 0, int(n)*len(vec))
		}
		if len(slab)+len(vec) > cap(slab) {
			// More rows than counted (a concurrent write): a fresh slab for the rest.
			slab = make([]float32, 0, max(len(vec), cap(slab)/8))
		}
		at := len(slab)
		slab = append(slab, vec...)
		out = append(out, Vector{MemberID: id, Vec: slab[at:]})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load member vectors: %w", storage.Translate(err, nil))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
