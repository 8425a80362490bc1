// Package trends follows the movement: communities growing and shrinking between
// cluster runs, and interests and causes rising or falling across the membership
// between two windows. A change is reported only when a two-proportion z-test says
// it is unlikely to be noise.
package trends

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// Change is one thing that grew or shrank.
type Change struct {
	Name   string  `json:"name"`
	Before int     `json:"before"`
	After  int     `json:"after"`
	Share  float64 `json:"share"`       // share of the membership now
	Prior  float64 `json:"share_prior"` // share before
	Z      float64 `json:"z"`
}

// Config sets what counts as a trend.
type Config struct {
	// MinZ is the two-proportion z-score a change must reach; 3 when zero.
	MinZ float64
	// MinCount is the least count (now or before) worth reporting; 5 when zero.
	MinCount int
}

// Compare returns the significant changes between two counts over populations of
// nBefore and nAfter, rising (largest z first) and falling (most negative first).
func Compare(before, after map[string]int, nBefore, nAfter int, cfg Config) (rising, falling []Change) {
	minZ, minCount := cfg.MinZ, cfg.MinCount
	if minZ <= 0 {
		minZ = 3
	}
	if minCount <= 0 {
		minCount = 5
	}
	rising, falling = []Change{}, []Change{}
	if nBefore == 0 || nAfter == 0 {
		return rising, falling
	}
	names := map[string]bool{}
	for k := range before {
		names[k] = true
	}
	for k := range after {
		names[k] = true
	}
	for k := range names {
		b, a := before[k], after[k]
		if max(a, b) < minCount {
			continue
		}
		p1, p2 := float64(b)/float64(nBefore), float64(a)/float64(nAfter)
		p := float64(a+b) / float64(nBefore+nAfter)
		se := math.Sqrt(p * (1 - p) * (1/float64(nBefore) + 1/float64(nAfter)))
		if se == 0 {
			continue
		}
		z := (p2 - p1) / se
		c := Change{Name: k, Before: b, After: a, Share: round3(p2), Prior: round3(p1), Z: math.Round(z*100) / 100}
		switch {
		case z >= minZ:
			rising = append(rising, c)
		case z <= -minZ:
			falling = append(falling, c)
		}
	}
	sort.Slice(rising, func(i, j int) bool {
		return rising[i].Z > rising[j].Z || rising[i].Z == rising[j].Z && rising[i].Name < rising[j].Name
	})
	sort.Slice(falling, func(i, j int) bool {
		return falling[i].Z < falling[j].Z || falling[i].Z == falling[j].Z && falling[i].Name < falling[j].Name
	})
	return rising, falling
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// ErrNoRun means no cluster run has been published yet.
var ErrNoRun = belong.New(belong.EUNAVAILABLE, "no_cluster_run", "no cluster run has been published yet")

// Report is the state of the movement.
type Report struct {
	RunID         int64    `json:"run_id,string"`
	PreviousRunID int64    `json:"previous_run_id,string,omitempty"`
	Growing       []Change `json:"communities_growing"`
	Shrinking     []Change `json:"communities_shrinking"`
	WindowDays    int      `json:"window_days"`
	Rising        []Change `json:"terms_rising"`
	Falling       []Change `json:"terms_falling"`
}

// Read compares the current cluster run with the one before it (communities by id,
// as ids persist across runs), and the interests, causes and activity categories of
// the members active in the last window with those of the window before.
func Read(ctx context.Context, db database.DBTX, now time.Time, window time.Duration, cfg Config) (Report, error) {
	r := Report{WindowDays: int(window.Hours() / 24), Growing: []Change{}, Shrinking: []Change{}}
	q := storage.New(db)
	runs, err := q.CurrentAndPreviousRun(ctx)
	if err != nil {
		return r, fmt.Errorf("trends: %w", storage.Translate(err, ErrNoRun))
	}
	r.RunID, r.PreviousRunID = runs.RunID, runs.PreviousRunID
	if r.PreviousRunID > 0 {
		sizes := func(run int64) (map[string]int, int, error) {
			rows, err := q.CommunitySizes(ctx, run)
			if err != nil {
				return nil, 0, err
			}
			out, total := map[string]int{}, 0
			for _, c := range rows {
				out[c.ID], total = int(c.Size), total+int(c.Size)
			}
			return out, total, nil
		}
		before, nb, err := sizes(r.PreviousRunID)
		if err != nil {
			return r, fmt.Errorf("trends: %w", err)
		}
		after, na, err := sizes(r.RunID)
		if err != nil {
			return r, fmt.Errorf("trends: %w", err)
		}
		r.Growing, r.Shrinking = Compare(before, after, nb, na, cfg)
	}
	// Members active in a window, and how many of them hold each term (their
	// interests and causes, and the categories of what they did in the window).
	terms := func(from, to time.Time) (map[string]int, int, error) {
		n, err := q.CountActiveMembers(ctx, storage.CountActiveMembersParams{FromTime: from, ToTime: to})
		if err != nil {
			return nil, 0, err
		}
		rows, err := q.TermCounts(ctx, storage.TermCountsParams{FromTime: from, ToTime: to})
		if err != nil {
			return nil, 0, err
		}
		out := map[string]int{}
		for _, t := range rows {
			out[t.Term] = int(t.Members)
		}
		return out, int(n), nil
	}
	before, nb, err := terms(now.Add(-2*window), now.Add(-window))
	if err != nil {
		return r, fmt.Errorf("trends: %w", err)
	}
	after, na, err := terms(now.Add(-window), now)
	if err != nil {
		return r, fmt.Errorf("trends: %w", err)
	}
	r.Rising, r.Falling = Compare(before, after, nb, na, cfg)
	return r, nil
}
