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

	tag, err := b.DB.Exec(ctx, `DELETE FROM member_vectors v USING members m
		WHERE m.id = v.member_id AND NOT m.consent_personalization`)
	if err != nil {
		return res, fmt.Errorf("remove vectors without consent: %w", err)
	}
	res.Removed = int(tag.RowsAffected())

	rebuild, err := b.dropIndexesForBulk(ctx)
	if err != nil {
		return res, err
	}
	if rebuild != nil {
		// However the load ends, the indexes come back.
		defer func() {
			if rerr := rebuild(context.WithoutCancel(ctx)); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}

	at := now()
	after := ""
	for {
		todo, last, seen, err := b.readBatch(ctx, model, at, after, batch)
		if err != nil {
			return res, err
		}
		res.Unchanged += seen - len(todo)
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
		if _, err := b.DB.Exec(ctx, "ANALYZE member_vectors"); err != nil {
			return res, fmt.Errorf("analyze member_vectors: %w", err)
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
	var stored, wanted int
	if err := b.DB.QueryRow(ctx, `SELECT (SELECT count(*) FROM member_vectors WHERE model = $1),
		(SELECT count(*) FROM members WHERE consent_personalization)`, b.Embedder.Model()).Scan(&stored, &wanted); err != nil {
		return nil, fmt.Errorf("count vectors: %w", err)
	}
	if wanted < bulkMinRows || stored*2 > wanted {
		return nil, nil
	}
	rows, err := b.DB.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_class ix ON ix.oid = i.indexrelid JOIN pg_am am ON am.oid = ix.relam
		WHERE t.oid = 'member_vectors'::regclass AND am.amname IN ('hnsw', 'ivfflat')`)
	if err != nil {
		return nil, fmt.Errorf("read vector indexes: %w", err)
	}
	type index struct{ name, def string }
	defs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		err := r.Scan(&ix.name, &ix.def)
		return ix, err
	})
	if err != nil {
		return nil, fmt.Errorf("read vector indexes: %w", err)
	}
	if len(defs) == 0 {
		return nil, nil
	}
	for _, ix := range defs {
		if _, err := b.DB.Exec(ctx, "DROP INDEX IF EXISTS "+ix.name); err != nil {
			return nil, fmt.Errorf("drop %s for bulk load: %w", ix.name, err)
		}
	}
	return func(ctx context.Context) error {
		for _, ix := range defs {
			if _, err := b.DB.Exec(ctx, ix.def); err != nil {
				return fmt.Errorf("rebuild %s: %w", ix.name, err)
			}
		}
		return nil
	}, nil
}

// bulkMinRows is the membership below which indexes are never dropped: small loads
// are fast either way.
const bulkMinRows = 1000

// readBatch reads the next batch of consenting members after id `after`, with their
// recency-decayed activity, and returns those whose vector is stale.
func (b *Backfill) readBatch(ctx context.Context, model string, at time.Time, after string, limit int) (todo []pending, last string, seen int, err error) {
	rows, err := b.DB.Query(ctx, `
		SELECT m.id, m.interests, m.causes, m.skill_level, v.source_hash,
			coalesce(a.types, '{}'), coalesce(a.categories, '{}'), coalesce(a.weights, '{}')
		FROM members m
		LEFT JOIN member_vectors v ON v.member_id = m.id
		LEFT JOIN LATERAL (
			SELECT array_agg(type) AS types, array_agg(category) AS categories, array_agg(weight) AS weights
			FROM (
				SELECT e.type, coalesce(e.props->>'category', '') AS category,
					sum(power(0.5, greatest(extract(epoch FROM $3 - e.occurred_at), 0) / $4)) AS weight
				FROM member_events e WHERE e.member_id = m.id
				GROUP BY 1, 2
			) g
		) a ON true
		WHERE m.consent_personalization AND m.id > $1
		ORDER BY m.id
		LIMIT $2`, after, limit, at, HalfLife.Seconds())
	if err != nil {
		return nil, "", 0, fmt.Errorf("read members to embed: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p          pending
			stored     []byte
			types      []string
			categories []string
			weights    []float64
		)
		if err := rows.Scan(&p.id, &p.profile.Interests, &p.profile.Causes, &p.profile.SkillLevel, &stored,
			&types, &categories, &weights); err != nil {
			return nil, "", 0, fmt.Errorf("read members to embed: %w", err)
		}
		for i := range types {
			p.profile.Activity = append(p.profile.Activity, Activity{Type: types[i], Category: categories[i], Weight: weights[i]})
		}
		seen++
		last = p.id
		p.hash = p.profile.Hash(model)
		if !bytes.Equal(p.hash, stored) {
			todo = append(todo, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", 0, fmt.Errorf("read members to embed: %w", err)
	}
	return todo, last, seen, nil
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
	rows := make([][]any, len(todo))
	for i, p := range todo {
		if len(vecs[i]) != Dim {
			return fmt.Errorf("embedder %s returned %d dimensions, want %d", model, len(vecs[i]), Dim)
		}
		rows[i] = []any{p.id, model, pgvector.NewVector(vecs[i]), p.hash}
	}
	return database.InTx(ctx, b.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.vectors_in;
			CREATE TEMP TABLE vectors_in (member_id text, model text, embedding vector(256), source_hash bytea)
			ON COMMIT DROP`); err != nil {
			return fmt.Errorf("stage vectors: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"vectors_in"},
			[]string{"member_id", "model", "embedding", "source_hash"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy vectors: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO member_vectors (member_id, model, embedding, source_hash)
			SELECT member_id, model, embedding, source_hash FROM vectors_in
			ON CONFLICT (member_id) DO UPDATE SET model = excluded.model, embedding = excluded.embedding,
				source_hash = excluded.source_hash, embedded_at = now()`)
		if err != nil {
			return fmt.Errorf("write vectors: %w", err)
		}
		return nil
	})
}

// Vector is one member's stored vector.
type Vector struct {
	MemberID string
	Vec      []float32
}

// Load returns the vectors of consenting members made by model, ordered by member id.
func Load(ctx context.Context, db database.DBTX, model string) ([]Vector, error) {
	rows, err := db.Query(ctx, `SELECT v.member_id, v.embedding FROM member_vectors v
		JOIN members m ON m.id = v.member_id
		WHERE v.model = $1 AND m.consent_personalization
		ORDER BY v.member_id`, model)
	if err != nil {
		return nil, fmt.Errorf("load member vectors: %w", err)
	}
	defer rows.Close()
	var out []Vector
	for rows.Next() {
		var (
			id string
			v  pgvector.Vector
		)
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("load member vectors: %w", err)
		}
		out = append(out, Vector{MemberID: id, Vec: v.Slice()})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load member vectors: %w", err)
	}
	return out, nil
}
