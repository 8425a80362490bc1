package embeddings

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/storage"
)

// Centered removes the membership's common direction from another embedder's vectors:
// each vector minus Center, re-normalized. Text embedding models put every text in a
// narrow cone (two unrelated members of a real brand score 0.76–0.81), so raw cosines
// say little and fixed thresholds mean nothing; centered, unrelated members score near
// zero and a cosine says how alike two members are compared with the membership.
//
// The center is learned (FitCenter) from a sample of the membership and versioned:
// vectors carry the inner model's name plus "+c<version>", so a new center is found
// and backfilled like any model change.
type Centered struct {
	Inner   Embedder
	Center  []float32
	Version int
	// SqueezeBefore and SqueezeAfter are the mean cosine of random pairs of the
	// sample the center was learned from, before and after centering.
	SqueezeBefore, SqueezeAfter float64
}

var _ Embedder = (*Centered)(nil)

// Model implements Embedder.
func (c *Centered) Model() string { return fmt.Sprintf("%s+c%d", c.Inner.Model(), c.Version) }

// Dim implements Embedder.
func (c *Centered) Dim() int { return c.Inner.Dim() }

// Embed implements Embedder.
func (c *Centered) Embed(ctx context.Context, profiles []Profile) ([][]float32, error) {
	vecs, err := c.Inner.Embed(ctx, profiles)
	if err != nil {
		return nil, err
	}
	for _, v := range vecs {
		c.apply(v)
	}
	return vecs, nil
}

// apply centers v in place. A vector that is the center itself (nothing but the
// common direction) keeps its direction: zero would match nothing.
func (c *Centered) apply(v []float32) {
	if len(v) != len(c.Center) {
		return // the caller's dimension check reports it
	}
	var s float64
	for i, f := range v {
		d := f - c.Center[i]
		s += float64(d) * float64(d)
	}
	if s < 1e-12 {
		return
	}
	for i := range v {
		v[i] -= c.Center[i]
	}
	Normalize(v)
}

// CenterMinMembers is the least consenting membership a center is learned from: the
// mean of fewer is mostly their own noise.
const CenterMinMembers = 1000

// centerSample is about how many members a center is learned from: the mean of
// 5,000 unit vectors is within about 0.014 of the true one in each direction.
const centerSample = 5000

// ErrCenterTooSmall says the membership is too small to learn a center from.
var ErrCenterTooSmall = errors.New("too few members to learn a center")

// FitCenter learns inner's common direction from a sample of about 5,000 consenting
// members (every member when fewer), stores it as the model's next center version and
// returns the centered embedder. It fails with ErrCenterTooSmall below
// CenterMinMembers consenting members. at ages events as Backfill does.
func FitCenter(ctx context.Context, db database.DBTX, inner Embedder, at time.Time) (*Centered, error) {
	q := storage.New(db)
	n, err := q.CountVectorsAndConsenting(ctx, inner.Model())
	if err != nil {
		return nil, fmt.Errorf("fit center: %w", storage.Translate(err, nil))
	}
	if n.Wanted < CenterMinMembers {
		return nil, fmt.Errorf("%w: %d consenting members; a center needs at least %d", ErrCenterTooSmall, n.Wanted, CenterMinMembers)
	}
	b := Backfill{DB: db, Embedder: inner}
	every := max(1, int(n.Wanted)/centerSample)
	sum := make([]float64, inner.Dim())
	var sample [][]float32
	after := ""
	for {
		rows, last, seen, err := b.read(ctx, inner.Model(), at, after, 2000, every)
		if err != nil {
			return nil, fmt.Errorf("fit center: %w", err)
		}
		if len(rows) > 0 {
			profiles := make([]Profile, len(rows))
			for i, r := range rows {
				profiles[i] = r.profile
			}
			vecs, err := inner.Embed(ctx, profiles)
			if err != nil {
				return nil, fmt.Errorf("fit center: embed %d members: %w", len(rows), err)
			}
			for _, v := range vecs {
				if len(v) != len(sum) {
					return nil, fmt.Errorf("fit center: embedder %s returned %d dimensions, want %d", inner.Model(), len(v), len(sum))
				}
				for i, f := range v {
					sum[i] += float64(f)
				}
			}
			sample = append(sample, vecs...)
		}
		if seen < 2000 {
			break
		}
		after = last
	}
	if len(sample) == 0 {
		return nil, fmt.Errorf("%w: the sample is empty", ErrCenterTooSmall)
	}
	c := &Centered{Inner: inner, Center: make([]float32, len(sum))}
	for i, s := range sum {
		c.Center[i] = float32(s / float64(len(sample)))
	}
	c.SqueezeBefore = meanPairCosine(sample)
	for _, v := range sample {
		c.apply(v)
	}
	c.SqueezeAfter = meanPairCosine(sample)
	version, err := q.SaveVectorCenter(ctx, storage.SaveVectorCenterParams{Model: inner.Model(),
		Center: pgvector.NewVector(c.Center), Members: int32(len(sample)),
		SqueezeBefore: float32(c.SqueezeBefore), SqueezeAfter: float32(c.SqueezeAfter)})
	if err != nil {
		return nil, fmt.Errorf("save center: %w", storage.Translate(err, nil))
	}
	c.Version = int(version)
	return c, nil
}

// meanPairCosine is the mean cosine of 20,000 random pairs of x, to three decimals.
func meanPairCosine(x [][]float32) float64 {
	mean, _ := clustering.PairCosines(x, 20000, 0.5, 1)
	return math.Round(mean*1000) / 1000
}

// WithCenter returns inner centered by its latest stored center, or inner itself
// when none has been learned for its model.
func WithCenter(ctx context.Context, db database.DBTX, inner Embedder) (Embedder, error) {
	row, err := storage.New(db).LatestVectorCenter(ctx, inner.Model())
	if errors.Is(err, pgx.ErrNoRows) {
		return inner, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load center: %w", storage.Translate(err, nil))
	}
	return &Centered{Inner: inner, Center: row.Center.Slice(), Version: int(row.Version),
		SqueezeBefore: float64(row.SqueezeBefore), SqueezeAfter: float64(row.SqueezeAfter)}, nil
}
