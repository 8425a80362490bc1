package matching

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

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
	// Places are the values of the run's first place facet (an attributes.KEY facet
	// of BELONG_FACETS, such as attributes.city), or without one the members' city
	// attribute, when they have one.
	Places []Share `json:"places,omitempty"`
	// Facets are the values of the run's facets that at least half of the community
	// shares, in the order the facets are configured: what sets it apart from
	// communities of the same interests ("Stockholm", "beginners"). Only facets on
	// which the run's members differ count.
	Facets []Facet `json:"facets"`
	// Active30d is the share of members with an event in those 30 days, and
	// EventsPerMember30d their events per member.
	Active30d          float64 `json:"active_30d"`
	EventsPerMember30d float64 `json:"events_per_member_30d"`
}

// Facet is a facet's value most of a community shares: Facet names it as
// BELONG_FACETS does ("language", "skill", "attributes.city"), Label is how a person
// would say it ("Swedish", "beginners", "Stockholm").
type Facet struct {
	Facet string  `json:"facet"`
	Value string  `json:"value"`
	Label string  `json:"label"`
	Share float64 `json:"share"`
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
// i's community); names are the run's facets, values[f][i] member i's value of facet
// f (facetValues), and forms how members write attribute values (writtenForms, the
// city attribute included).
func compositions(info memberInfo, assign []int, k int, names []string, values [][]string, forms map[string]map[string]string) []Composition {
	type tally struct {
		size, active, events int
		interests            map[string]map[string]int // term key → written form → members
		skills, langs        map[string]int
		facets               []map[string]int
	}
	// Only facets on which the members differ tell communities apart.
	var differ []int
	for f, vs := range values {
		if varies(vs) {
			differ = append(differ, f)
		}
	}
	place := slices.IndexFunc(names, func(n string) bool { return strings.HasPrefix(n, "attributes.") })
	if place < 0 {
		// No place facet: the members' city, if they have one, still says where.
		city := make([]string, len(info.attrs))
		for i, a := range info.attrs {
			if v, ok := a["city"].(string); ok {
				city[i] = strings.ToLower(strings.TrimSpace(v))
			}
		}
		names, values = append(slices.Clone(names), "attributes.city"), append(slices.Clone(values), city)
		place = len(names) - 1
	}
	ts := make([]tally, k)
	for c := range ts {
		ts[c] = tally{interests: map[string]map[string]int{}, skills: map[string]int{}, langs: map[string]int{},
			facets: make([]map[string]int, len(values))}
		for f := range values {
			ts[c].facets[f] = map[string]int{}
		}
	}
	for i, c := range assign {
		t := &ts[c]
		t.size++
		for f, vs := range values {
			if vs[i] != "" {
				t.facets[f][vs[i]]++
			}
		}
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
			Languages: shares(t.langs, share), Active30d: share(t.active), Facets: []Facet{},
			EventsPerMember30d: math.Round(10*float64(t.events)/float64(t.size)) / 10}
		out[c].Places = top(shares(t.facets[place], share), topPlaces)
		for p := range out[c].Places {
			out[c].Places[p].Value = facetLabel(names[place], out[c].Places[p].Value, forms)
		}
		for _, f := range differ {
			if s := shares(t.facets[f], share); len(s) > 0 && s[0].Share >= 0.5 {
				out[c].Facets = append(out[c].Facets, Facet{Facet: names[f], Value: s[0].Value,
					Label: facetLabel(names[f], s[0].Value, forms), Share: s[0].Share})
			}
		}
	}
	return out
}

// facetLabel is how a person would say a facet's value: a language's name, a skill
// band in the plural, an attribute as the members most often write it (forms).
func facetLabel(facet, value string, forms map[string]map[string]string) string {
	switch facet {
	case "language":
		if l, ok := languageFacets[value]; ok {
			return strings.TrimPrefix(l, "in ")
		}
		return value
	case "skill":
		return cmp.Or(skillFacets[value], value)
	}
	return cmp.Or(forms[facet][value], value)
}

// writtenForms maps each attribute facet's values (lower-cased, as facetValues
// gives them) to the members' most common written form: "new york" → "New York".
func writtenForms(attrs []map[string]any, names []string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, name := range names {
		key, ok := strings.CutPrefix(name, "attributes.")
		if !ok || out[name] != nil {
			continue
		}
		counts := map[string]map[string]int{}
		for _, a := range attrs {
			v, ok := a[key].(string)
			if v = strings.TrimSpace(v); !ok || v == "" {
				continue
			}
			low := strings.ToLower(v)
			if counts[low] == nil {
				counts[low] = map[string]int{}
			}
			counts[low][v]++
		}
		forms := make(map[string]string, len(counts))
		for low, written := range counts {
			best, bn := "", 0
			for w, n := range written {
				if n > bn || n == bn && w < best {
					best, bn = w, n
				}
			}
			forms[low] = best
		}
		out[name] = forms
	}
	return out
}

// varies reports whether vs holds two or more different known ("" is unknown) values.
func varies(vs []string) bool {
	first := ""
	for _, v := range vs {
		switch {
		case v == "" || v == first:
		case first == "":
			first = v
		default:
			return true
		}
	}
	return false
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

// Percent formats the share holding a facet's value as a whole percentage.
func (f Facet) Percent() string { return Share{Share: f.Share}.Percent() }

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

// RunSize is a community's size in one published run.
type RunSize struct {
	RunID int64     `json:"run_id,string"`
	At    time.Time `json:"at"`
	Size  int       `json:"size"`
}

// SizeHistory is a community's size in the last n published runs that had it,
// newest first (ids are kept across runs, so this is its growth).
func SizeHistory(ctx context.Context, db database.DBTX, id string, n int) ([]RunSize, error) {
	rows, err := storage.New(db).CommunitySizeHistory(ctx, storage.CommunitySizeHistoryParams{ID: id, Lim: int32(n)})
	if err != nil {
		return nil, fmt.Errorf("sizes of %s: %w", id, storage.Translate(err, nil))
	}
	out := make([]RunSize, len(rows))
	for i, r := range rows {
		out[i] = RunSize{RunID: r.RunID, At: r.StartedAt, Size: int(r.Size)}
	}
	return out, nil
}

// PrimaryMembers lists the members whose primary community id is in run.
func PrimaryMembers(ctx context.Context, db database.DBTX, run int64, id string) ([]string, error) {
	ids, err := storage.New(db).CommunityMemberIDs(ctx, storage.CommunityMemberIDsParams{RunID: run, CommunityID: id})
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", id, storage.Translate(err, nil))
	}
	return ids, nil
}
