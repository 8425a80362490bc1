package matching_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// The cluster run labels communities with members.TermKey, so spellings of one
// interest make one label.
func TestTermKeyFoldsSpellings(t *testing.T) {
	for _, group := range [][]string{
		{"Trail running", "trail-running", "trail runs", "TRAIL RUN"},
		{"ocean clean-ups", "Ocean clean up", "ocean_clean_ups"},
		{"swimming", "swims", "swim"},
	} {
		want := members.TermKey(group[0])
		for _, t2 := range group[1:] {
			if got := members.TermKey(t2); got != want {
				t.Errorf("TermKey(%q) = %q, want %q like %q", t2, got, want, group[0])
			}
		}
	}
	if members.TermKey("yoga") == members.TermKey("yoga nidra") {
		t.Error("different terms folded together")
	}
	labels := clustering.Label([][]string{{"Trail running"}, {"trail-running"}, {"trail runs"}, {"padel"}, {"padel"}, {"padel"}},
		[]int{0, 0, 0, 1, 1, 1}, 2, clustering.LabelConfig{Max: 2, Key: members.TermKey})
	if len(labels[0]) != 1 || labels[1][0] != "padel" {
		t.Fatalf("labels %v: three spellings should make one label", labels)
	}
}

// On the demo brand, no two communities of a run share a name or a label set, and
// every label is held by at least half of the community's members (a label's
// holders are those with a term of its key, or a near-miss spelling of it).
func TestDemoCommunitiesAreToldApartByWhatMostShare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	b := loadDemo(t, pool, 3000)
	if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Facets: []string{"language"}, Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	termsOf, langOf := map[string][]string{}, map[string]string{}
	for _, m := range b.Members {
		langOf[m.ID], _, _ = strings.Cut(m.Locale, "-")
		termsOf[m.ID] = append(slices.Clone(m.Interests), m.Causes...)
	}
	for _, e := range b.Events {
		if c, ok := e.Props["category"].(string); ok {
			termsOf[e.MemberID] = append(termsOf[e.MemberID], c)
		}
	}
	rows, err := pool.Query(ctx, `SELECT c.id, c.name, c.labels, array_agg(ms.member_id) FROM communities c
		JOIN memberships ms ON ms.run_id = c.run_id AND ms.community_id = c.id AND ms.rank = 1
		WHERE c.run_id = (SELECT run_id FROM current_run) GROUP BY c.id, c.name, c.labels`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	names, sets, profiles := map[string]string{}, map[string]string{}, map[string]string{}
	weakest, communities, majority := 1.0, 0, 0.0
	for rows.Next() {
		var id, name string
		var labels, ms []string
		if err := rows.Scan(&id, &name, &labels, &ms); err != nil {
			t.Fatal(err)
		}
		communities++
		byLang := map[string]int{}
		top := 0
		for _, m := range ms {
			byLang[langOf[m]]++
			top = max(top, byLang[langOf[m]])
		}
		majority += float64(top) / float64(len(ms))
		if other, dup := names[name]; dup {
			t.Errorf("communities %s and %s are both named %q", other, id, name)
		}
		names[name] = id
		// The offline templates' profile names differ too, in every language.
		for _, loc := range []string{"en", "sv", "it"} {
			body, err := generation.Template{}.Generate(ctx, generation.Request{Kind: generation.KindCommunityProfile, Locale: loc,
				Community: generation.CommunityFacts{ID: id, Name: name, Labels: labels, Size: len(ms)}})
			if err != nil {
				t.Fatal(err)
			}
			pn := loc + " " + body["name"].(string)
			if other, dup := profiles[pn]; dup {
				t.Errorf("communities %s and %s get the same profile name %q", other, id, pn)
			}
			profiles[pn] = id
		}
		set := slices.Sorted(slices.Values(labels))
		if other, dup := sets[strings.Join(set, "|")]; dup {
			t.Errorf("communities %s and %s share the labels %v", other, id, set)
		}
		sets[strings.Join(set, "|")] = id
		// Its composition counts what its members hold.
		comp, err := matching.CommunityComposition(ctx, pool, runOf(t, pool), id)
		if err != nil || comp == nil || len(comp.Interests) == 0 {
			t.Fatalf("community %s composition: %+v, %v", id, comp, err)
		}
		for _, in := range comp.Interests[:1] {
			held, key := 0, members.TermKey(in.Value)
			for _, m := range ms {
				if slices.ContainsFunc(termsOf[m], func(t string) bool { return members.TermKey(t) == key }) {
					held++
				}
			}
			if want := math.Round(100*float64(held)/float64(len(ms))) / 100; in.Share != want {
				t.Errorf("community %s: %q held by %.2f, composition says %.2f", id, in.Value, want, in.Share)
			}
		}
		var skills float64
		for _, s := range comp.Skills {
			skills += s.Share
		}
		if skills < 0.95 || skills > 1.05 || comp.Active30d < 0 || comp.Active30d > 1 {
			t.Errorf("community %s: skill shares sum to %.2f, active %.2f", id, skills, comp.Active30d)
		}
		for _, l := range labels {
			if strings.HasPrefix(l, "in ") || slices.Contains([]string{"beginners", "intermediate", "advanced", "experts"}, l) {
				continue // a facet, not a term
			}
			held := 0
			for _, m := range ms {
				if slices.ContainsFunc(termsOf[m], func(t string) bool { return near(members.TermKey(t), members.TermKey(l)) }) {
					held++
				}
			}
			share := float64(held) / float64(len(ms))
			weakest = min(weakest, share)
			if share < 0.5 {
				t.Errorf("community %s (%s): label %q is held by %.0f%% of its %d members", id, name, l, 100*share, len(ms))
			}
		}
	}
	_, purity, _ := recovery(t, pool, b)
	t.Logf("%d communities, distinct names and label sets; the least-held label is held by %.0f%% of its community; persona purity %.3f; "+
		"a community's main language is %.0f%% of it on average", communities, 100*weakest, purity, 100*majority/float64(communities))
	if purity < 0.99 {
		t.Errorf("persona purity %.3f with the language facet", purity)
	}
	// ...and a member's secondary communities speak their language too.
	var secondaries, foreign int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE split_part(lower(m.locale), '-', 1) <>
			c.composition->'languages'->0->>'value')
		FROM memberships ms JOIN members m ON m.id = ms.member_id
		JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
		WHERE ms.run_id = (SELECT run_id FROM current_run) AND ms.rank > 1`).Scan(&secondaries, &foreign); err != nil {
		t.Fatal(err)
	}
	if secondaries == 0 || foreign > 0 {
		t.Errorf("%d of %d secondary memberships are in another language", foreign, secondaries)
	}
	// With the language facet (the default) a community speaks one language: 51% of
	// a community shared its main language without it.
	if m := majority / float64(communities); m < 0.95 {
		t.Errorf("a community's main language is %.0f%% of it on average", 100*m)
	}
}

// near reports whether two term keys are the same or a near-miss spelling apart.
func near(a, b string) bool {
	if a == b {
		return true
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) < 5 || len(rb) < 5 || string(ra[:3]) != string(rb[:3]) {
		return false
	}
	d := len(ra) - len(rb)
	return d >= -2 && d <= 2 && levenshtein(ra, rb) <= 2
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func runOf(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	var run int64
	if err := pool.QueryRow(context.Background(), "SELECT run_id FROM current_run").Scan(&run); err != nil {
		t.Fatal(err)
	}
	return run
}

// runCounts counts the cluster runs and the communities of every run.
func runCounts(t *testing.T, pool *pgxpool.Pool) (runs, comms int) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM cluster_runs), (SELECT count(*) FROM communities)").Scan(&runs, &comms); err != nil {
		t.Fatal(err)
	}
	return runs, comms
}

// A dry run reports what a run would change and leaves no trace: the current run,
// the run history and the communities are as they were.
func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	loadDemo(t, pool, 600)
	if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	before := runOf(t, pool)
	runs, comms := runCounts(t, pool)
	res, err := (&matching.Job{DB: pool, Config: matching.JobConfig{DryRun: true,
		Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 7, StickyMargin: 0.5}}}).RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range res.DryRun.Sizes {
		total += b.Communities
	}
	if res.RunID != 0 || res.DryRun == nil || total != res.Communities || res.Communities == 0 {
		t.Fatalf("dry run: %+v", res)
	}
	if r, c := runCounts(t, pool); runOf(t, pool) != before || r != runs || c != comms {
		t.Fatalf("after a dry run: current run %d (was %d), %d runs (%d), %d communities (%d)", runOf(t, pool), before, r, runs, c, comms)
	}
}

// With place after language (BELONG_FACETS=language,attributes.city), a community
// gathers neighbours: the demo's members live in two cities per locale, and a
// community's main city is 79% of it (47% with language alone).
func TestPlaceFacetGroupsNeighbours(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	b := loadDemo(t, pool, 3000)
	if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Facets: []string{"language", "attributes.city"},
		Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cityOf := map[string]string{}
	for _, m := range b.Members {
		cityOf[m.ID], _ = m.Attributes["city"].(string)
	}
	rows, err := pool.Query(ctx, `SELECT array_agg(member_id) FROM memberships
		WHERE run_id = (SELECT run_id FROM current_run) AND rank = 1 GROUP BY community_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var share float64
	n := 0
	for rows.Next() {
		var ms []string
		if err := rows.Scan(&ms); err != nil {
			t.Fatal(err)
		}
		by, top := map[string]int{}, 0
		for _, m := range ms {
			by[cityOf[m]]++
			top = max(top, by[cityOf[m]])
		}
		share += float64(top) / float64(len(ms))
		n++
	}
	_, purity, _ := recovery(t, pool, b)
	t.Logf("%d communities; a community's main city is %.0f%% of it on average; persona purity %.3f", n, 100*share/float64(n), purity)
	if share/float64(n) < 0.7 || purity < 0.99 {
		t.Fatalf("main city %.0f%% of a community on average, purity %.3f", 100*share/float64(n), purity)
	}

	// Each community says where it is: its places, and the facets most of it shares,
	// which reach the profile drafts (a template name carries the city).
	run := runOf(t, pool)
	comps, err := matching.Compositions(ctx, pool, run)
	if err != nil {
		t.Fatal(err)
	}
	withCity := 0
	for id, c := range comps {
		if len(c.Places) == 0 {
			t.Fatalf("community %s has no places: %+v", id, c)
		}
		var city *matching.Facet
		for i, f := range c.Facets {
			if f.Facet == "attributes.city" {
				city = &c.Facets[i]
			}
		}
		if (c.Places[0].Share >= 0.5) != (city != nil) {
			t.Fatalf("community %s: main place %+v, city facet %+v", id, c.Places[0], city)
		}
		if city != nil {
			withCity++
			if city.Label != c.Places[0].Value || strings.ToLower(city.Label) != city.Value || city.Label == city.Value {
				t.Fatalf("community %s: city facet %+v, places %+v", id, city, c.Places)
			}
		}
		if len(c.Facets) == 0 || c.Facets[0].Facet != "language" || c.Facets[0].Label == c.Facets[0].Value {
			t.Fatalf("community %s: facets %+v, want its language first, named", id, c.Facets)
		}
	}
	reqs, err := generation.CommunitiesToDraft(ctx, pool, []string{"en"})
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, r := range reqs {
		city := r.Community.Facets["attributes.city"]
		if city == "" {
			continue
		}
		body, err := (generation.Template{}).Generate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if name, _ := body["name"].(string); !strings.Contains(name, city) {
			t.Fatalf("profile of %s in %s is named %q", r.Community.ID, city, name)
		}
		named++
	}
	t.Logf("%d of %d communities have a city facet; %d template names carry it", withCity, len(comps), named)
	if withCity < len(comps)/2 || named != withCity {
		t.Fatalf("%d of %d communities have a city facet, %d named with it", withCity, len(comps), named)
	}
}

// Tribes follow the themes: on the demo (14 planted personas) each tribe gathers the
// communities of one persona (7 tribes at 69% one persona when the count came from
// the size alone).
func TestTribesFollowThemes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	b := loadDemo(t, pool, 3000)
	if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Facets: []string{"language"},
		Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	persona := map[string]int{}
	for i, m := range b.Members {
		persona[m.ID] = b.Persona[i]
	}
	rows, err := pool.Query(ctx, `SELECT c.tribe_id, array_agg(ms.member_id) FROM memberships ms JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
		WHERE ms.run_id = (SELECT run_id FROM current_run) AND ms.rank = 1 GROUP BY c.tribe_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sum float64
	n := 0
	for rows.Next() {
		var tr string
		var ms []string
		if err := rows.Scan(&tr, &ms); err != nil {
			t.Fatal(err)
		}
		by, top := map[int]int{}, 0
		for _, m := range ms {
			by[persona[m]]++
			top = max(top, by[persona[m]])
		}
		sum += float64(top) / float64(len(ms))
		n++
	}
	t.Logf("%d tribes; a tribe's main persona is %.0f%% of it on average", n, 100*sum/float64(n))
	if sum/float64(n) < 0.9 {
		t.Fatalf("a tribe's main persona is %.0f%% of it on average", 100*sum/float64(n))
	}
}
