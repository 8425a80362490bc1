package matching

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/storage"
)

// Split is a current community whose members would mostly go to two or more
// communities of the proposed run.
type Split struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Members counts its members who are in both runs.
	Members int `json:"members"`
	// Into are the proposed communities that would take a sizeable share of them,
	// most first.
	Into []Part `json:"into"`
}

// Merge is a proposed community that would draw a sizeable share of its members
// from two or more current communities.
type Merge struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Members counts its members who are in the current run too.
	Members int `json:"members"`
	// From are the current communities it would draw a sizeable share from, most first.
	From []Part `json:"from"`
}

// Part is a community and how many members move from or to it.
type Part struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// Transition is how many members primary in both runs go from a current community
// to a proposed one.
type Transition struct {
	FromID, FromName string
	ToID, ToName     string
	Members          int
}

// SizeableShare is the share of a community's members that makes a part of a split
// or a merge: at least a fifth (and at least two members). Smaller flows are the
// ordinary churn between neighbouring communities.
const SizeableShare = 0.2

// SplitsAndMerges reads splits and merges from the flows of members between two
// runs. A current community splits when two or more proposed communities each take a
// sizeable share of its members and together most of them; a proposed community is a
// merge when it takes a sizeable share of its members from each of two or more
// current communities. A community that only shrinks or grows is neither.
func SplitsAndMerges(ts []Transition) (splits []Split, merges []Merge) {
	type group struct {
		id, name string
		total    int
		parts    []Part
	}
	collect := func(key func(Transition) (string, string), other func(Transition) Part) []*group {
		byID := map[string]*group{}
		var order []*group
		for _, t := range ts {
			id, name := key(t)
			g := byID[id]
			if g == nil {
				g = &group{id: id, name: name}
				byID[id] = g
				order = append(order, g)
			}
			g.total += t.Members
			g.parts = append(g.parts, other(t))
		}
		return order
	}
	sizeable := func(g *group) (parts []Part, held int) {
		for _, p := range g.parts {
			if p.Members >= 2 && float64(p.Members) >= SizeableShare*float64(g.total) {
				parts = append(parts, p)
				held += p.Members
			}
		}
		slices.SortFunc(parts, func(a, b Part) int { return cmp.Or(b.Members-a.Members, cmp.Compare(a.ID, b.ID)) })
		return parts, held
	}
	from := collect(func(t Transition) (string, string) { return t.FromID, t.FromName },
		func(t Transition) Part { return Part{t.ToID, t.ToName, t.Members} })
	for _, g := range from {
		if parts, held := sizeable(g); len(parts) >= 2 && 2*held > g.total {
			splits = append(splits, Split{ID: g.id, Name: g.name, Members: g.total, Into: parts})
		}
	}
	to := collect(func(t Transition) (string, string) { return t.ToID, t.ToName },
		func(t Transition) Part { return Part{t.FromID, t.FromName, t.Members} })
	for _, g := range to {
		if parts, _ := sizeable(g); len(parts) >= 2 {
			merges = append(merges, Merge{ID: g.id, Name: g.name, Members: g.total, From: parts})
		}
	}
	slices.SortFunc(splits, func(a, b Split) int { return cmp.Or(b.Members-a.Members, cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(merges, func(a, b Merge) int { return cmp.Or(b.Members-a.Members, cmp.Compare(a.ID, b.ID)) })
	return nonNilSlice(splits), nonNilSlice(merges)
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// compareRuns adds to a dry run's report what it changes against the current run
// (previous, 0 for none): splits, merges and the current run's sizes. It reads the
// proposed run's memberships in the dry run's transaction.
func compareRuns(ctx context.Context, q *storage.Queries, run, previous int64, r *DryRunReport) error {
	r.Splits, r.Merges, r.CurrentSizes = []Split{}, []Merge{}, []SizeBucket{}
	if previous == 0 {
		return nil
	}
	rows, err := q.RunTransitions(ctx, storage.RunTransitionsParams{Run: run, Previous: previous})
	if err != nil {
		return fmt.Errorf("compare memberships: %w", storage.Translate(err, nil))
	}
	ts := make([]Transition, len(rows))
	for i, row := range rows {
		ts[i] = Transition{FromID: row.FromID, FromName: row.FromName, ToID: row.ToID, ToName: row.ToName, Members: int(row.Members)}
	}
	r.Splits, r.Merges = SplitsAndMerges(ts)
	sizes32, err := q.RunCommunitySizes(ctx, previous)
	if err != nil {
		return fmt.Errorf("read current sizes: %w", storage.Translate(err, nil))
	}
	sizes := make([]int, len(sizes32))
	for i, s := range sizes32 {
		sizes[i] = int(s)
	}
	r.CurrentSizes = sizeBuckets(sizes)
	shape := RunShape{Communities: len(sizes)}
	shape.MinSize, shape.MedianSize, shape.MaxSize = clustering.SizeStats(sizes)
	r.Current = &shape
	return nil
}
