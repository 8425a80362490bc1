package matching

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// Composition explains a community by who is in it: the interests, skill levels and
// languages of its members with the share of members holding each (most held
// first), and how active they were in the 30 days before the run.
type Composition struct {
	Interests []Share `json:"interests"`
	Skills    []Share `json:"skills"`
	Languages []Share `json:"languages"`
	// Places are the members' cities (the member attribute "city"), when they have one.
	Places []Share `json:"places,omitempty"`
	// Active30d is the share of members with an event in those 30 days, and
	// EventsPerMember30d their events per member.
	Active30d          float64 `json:"active_30d"`
	EventsPerMember30d float64 `json:"events_per_member_30d"`
}

// Share is a value and the share of a community's members holding it.
type Share struct {
	Value string  `json:"value"`
	Share float64 `json:"share"`
}

// topInterests and topPlaces are how many interests and places a composition lists.
const (
	topInterests = 8
	topPlaces    = 5
)

// memberInfo is what the run reads of each member besides their vector.
type memberInfo struct {
	terms, facets [][]string
	skill, lang   []string
	events30      []int
	attrs         []map[string]any
}

// compositions explains each of k communities from its members (assign[i] is member
// i's community).
func compositions(info memberInfo, assign []int, k int) []Composition {
	type tally struct {
		size, active, events  int
		interests             map[string]map[string]int // term key → written form → members
		skills, langs, places map[string]int
	}
	ts := make([]tally, k)
	for c := range ts {
		ts[c] = tally{interests: map[string]map[string]int{}, skills: map[string]int{}, langs: map[string]int{}, places: map[string]int{}}
	}
	for i, c := range assign {
		t := &ts[c]
		t.size++
		seen := map[string]bool{}
		for _, term := range info.terms[i] {
			key := members.TermKey(term)
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			if t.interests[key] == nil {
				t.interests[key] = map[string]int{}
			}
			t.interests[key][strings.ToLower(strings.TrimSpace(term))]++
		}
		if s := info.skill[i]; s != "" {
			t.skills[s]++
		}
		if l := members.Language(info.lang[i]); l != "" {
			t.langs[l]++
		}
		if city, _ := info.attrs[i]["city"].(string); strings.TrimSpace(city) != "" {
			t.places[strings.TrimSpace(city)]++
		}
		if info.events30[i] > 0 {
			t.active++
		}
		t.events += info.events30[i]
	}
	out := make([]Composition, k)
	for c, t := range ts {
		if t.size == 0 {
			continue
		}
		share := func(n int) float64 { return math.Round(100*float64(n)/float64(t.size)) / 100 }
		var interests []Share
		for _, forms := range t.interests {
			best, bn, held := "", 0, 0
			for f, n := range forms {
				held += n
				if n > bn || n == bn && f < best {
					best, bn = f, n
				}
			}
			interests = append(interests, Share{best, share(held)})
		}
		out[c] = Composition{Interests: top(interests, topInterests), Skills: shares(t.skills, share),
			Languages: shares(t.langs, share), Places: top(shares(t.places, share), topPlaces), Active30d: share(t.active),
			EventsPerMember30d: math.Round(10*float64(t.events)/float64(t.size)) / 10}
	}
	return out
}

func shares(counts map[string]int, share func(int) float64) []Share {
	out := make([]Share, 0, len(counts))
	for v, n := range counts {
		out = append(out, Share{v, share(n)})
	}
	return top(out, len(out))
}

// top sorts shares, most held first (then by value), and keeps n.
func top(s []Share, n int) []Share {
	slices.SortFunc(s, func(a, b Share) int {
		if c := cmp.Compare(b.Share, a.Share); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	if s == nil {
		s = []Share{}
	}
	return s[:min(n, len(s))]
}

// CommunityComposition reads a community's composition in a run.
func CommunityComposition(ctx context.Context, db database.DBTX, run int64, id string) (*Composition, error) {
	raw, err := storage.New(db).CommunityComposition(ctx, storage.CommunityCompositionParams{RunID: run, ID: id})
	if err != nil {
		return nil, notFoundOr(err, ErrNotFound, "read composition")
	}
	var c Composition
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("community %s composition: %w", id, err)
	}
	if c.Interests == nil { // a run published before compositions were written
		return nil, nil
	}
	return &c, nil
}

// Compositions reads every community's composition in a run, by id.
func Compositions(ctx context.Context, db database.DBTX, run int64) (map[string]Composition, error) {
	rows, err := storage.New(db).RunCompositions(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("read compositions: %w", storage.Translate(err, nil))
	}
	out := make(map[string]Composition, len(rows))
	for _, r := range rows {
		var c Composition
		if err := json.Unmarshal(r.Composition, &c); err != nil {
			return nil, fmt.Errorf("community %s composition: %w", r.ID, err)
		}
		out[r.ID] = c
	}
	return out, nil
}

// Percent formats a share as a whole percentage, for display.
func (s Share) Percent() string { return fmt.Sprintf("%.0f%%", 100*s.Share) }

// ActivePercent is Active30d as a whole percentage, for display.
func (c Composition) ActivePercent() string { return Share{Share: c.Active30d}.Percent() }

// FirstNames are the first names of up to n members of a community in a run (its
// primary members) who consented to be seen by their community, closest to its
// centre first: a face for the community in the console, and nothing more.
func FirstNames(ctx context.Context, db database.DBTX, run int64, id string, n int) ([]string, error) {
	names, err := storage.New(db).CommunityFirstNames(ctx, storage.CommunityFirstNamesParams{RunID: run, CommunityID: id, Lim: int32(n)})
	if err != nil {
		return nil, fmt.Errorf("read members of %s: %w", id, storage.Translate(err, nil))
	}
	return names, nil
}
