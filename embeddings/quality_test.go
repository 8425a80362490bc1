package embeddings_test

import (
	"cmp"
	"context"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
)

// demoProfiles turns a demo brand into profiles the way Backfill does (activity
// weights decayed with the same half-life) and documents for FitTerms.
func demoProfiles(b demo.Brand, now time.Time) ([]embeddings.Profile, [][]string) {
	type key struct{ typ, cat string }
	acts := map[string]map[key]float64{}
	cats := map[string]map[string]bool{}
	for _, e := range b.Events {
		c, _ := e.Props["category"].(string)
		if acts[e.MemberID] == nil {
			acts[e.MemberID], cats[e.MemberID] = map[key]float64{}, map[string]bool{}
		}
		acts[e.MemberID][key{e.Type, c}] += math.Pow(0.5, now.Sub(e.At).Hours()/embeddings.HalfLife.Hours())
		cats[e.MemberID][c] = true
	}
	ps := make([]embeddings.Profile, len(b.Members))
	docs := make([][]string, len(b.Members))
	for i, m := range b.Members {
		ps[i] = embeddings.Profile{Interests: m.Interests, Causes: m.Causes, SkillLevel: m.SkillLevel}
		keys := make([]key, 0, len(acts[m.ID]))
		for k := range acts[m.ID] {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, c int) bool { return keys[a].typ+keys[a].cat < keys[c].typ+keys[c].cat })
		for _, k := range keys {
			ps[i].Activity = append(ps[i].Activity, embeddings.Activity{Type: k.typ, Category: k.cat, Weight: acts[m.ID][k]})
		}
		docs[i] = append(append(append([]string{}, m.Interests...), m.Causes...), sortedKeys(cats[m.ID])...)
	}
	return ps, docs
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// quality scores vectors against the planted personas: NMI at one community per
// persona, purity of micro-communities (k = n/50), and peer precision@10 (the share of
// a member's ten nearest neighbours with the same persona) over 400 members.
func quality(t testing.TB, x [][]float32, truth []int) (nmi, purity, peers float64) {
	ctx := context.Background()
	km, err := clustering.SphericalKMeans(ctx, x, clustering.KMeansConfig{K: len(demo.Personas), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	nmi = clustering.NMI(km.Assign, truth)
	micro, err := clustering.SphericalKMeans(ctx, x, clustering.KMeansConfig{K: len(x) / 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	purity = clustering.Purity(micro.Assign, truth)
	hits := 0
	for i := 0; i < 400; i++ {
		idx, _ := clustering.TopK(x[i], x, 11)
		for _, j := range idx {
			if j != i && truth[j] == truth[i] {
				hits++
			}
		}
	}
	return nmi, purity, float64(hits) / 4000
}

func TestLearnedTermsAreDeterministicAndMeaningful(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b := demo.Generate(demo.Config{Members: 4000, Seed: 3, Now: now, Synonyms: 0.3})
	_, docs := demoProfiles(b, now)
	m1, err := embeddings.FitTerms(docs, embeddings.FitConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := embeddings.FitTerms(docs, embeddings.FitConfig{})
	for term, v := range m1.Terms {
		for j := range v {
			if v[j] != m2.Terms[term][j] {
				t.Fatalf("two fits of the same data differ at %q", term)
			}
		}
	}
	cos := func(a, b string) float64 {
		va, vb := m1.Terms[members.TermKey(a)], m1.Terms[members.TermKey(b)]
		if va == nil || vb == nil {
			t.Fatalf("term %q or %q not learned", a, b)
		}
		var s float64
		for i := range va {
			s += float64(va[i]) * float64(vb[i])
		}
		return s
	}
	for _, tc := range [][3]string{
		{"ultramarathons", "trail running", "plant-based cooking"},
		{"spinning", "indoor cycling", "tai chi"},
		{"beach clean-ups", "ocean clean-ups", "powerlifting"},
	} {
		near, far := cos(tc[0], tc[1]), cos(tc[0], tc[2])
		t.Logf("%s: %.2f to %s, %.2f to %s", tc[0], near, tc[1], far, tc[2])
		if near <= far+0.2 {
			t.Errorf("%q is not clearly nearer %q (%.2f) than %q (%.2f)", tc[0], tc[1], near, tc[2], far)
		}
	}
	// Learned and hashed profiles are both unit vectors, deterministic per model.
	ps, _ := demoProfiles(b, now)
	a, _ := embeddings.NewLearned(m1).Embed(context.Background(), ps[:50])
	c, _ := embeddings.NewLearned(m2).Embed(context.Background(), ps[:50])
	for i := range a {
		for j := range a[i] {
			if a[i][j] != c[i][j] {
				t.Fatal("learned embedding is not deterministic")
			}
		}
	}
	if embeddings.NewLearned(m1).Model() != "learned-ppmi-v0-r2+idf" || embeddings.NewLocal().WithWeights(1, 0).Model() == embeddings.LocalModel {
		t.Fatal("model names do not tell models and weights apart")
	}
}

// BenchmarkEmbeddingQuality compares hashing and learned embeddings on a demo brand in
// which 30% of interests are written in other words ("spinning" for "indoor cycling").
//
//	go test -run '^$' -bench EmbeddingQuality -benchtime 1x ./embeddings
func BenchmarkEmbeddingQuality(b *testing.B) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	brand := demo.Generate(demo.Config{Members: 6000, Seed: 5, Now: now, Synonyms: 0.3})
	ps, docs := demoProfiles(brand, now)
	for range b.N {
		m, err := embeddings.FitTerms(docs, embeddings.FitConfig{})
		if err != nil {
			b.Fatal(err)
		}
		// Stated only: what a new member has before any activity (cold start).
		stated := make([]embeddings.Profile, len(ps))
		for i, p := range ps {
			stated[i] = embeddings.Profile{Interests: p.Interests, Causes: p.Causes, SkillLevel: p.SkillLevel}
		}
		for _, set := range []struct {
			name string
			ps   []embeddings.Profile
		}{{"with activity", ps}, {"stated only", stated}} {
			embedders := []embeddings.Embedder{embeddings.NewLocal(), embeddings.NewLearned(m)}
			if url := os.Getenv("OPENAI_BASE_URL"); url != "" {
				// A configured endpoint joins the comparison (bench/embeddings.sh).
				o, err := embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: url, APIKey: os.Getenv("OPENAI_API_KEY"),
					Model: cmp.Or(os.Getenv("BELONG_EMBEDDING_MODEL"), "text-embedding-3-small")})
				if err != nil {
					b.Fatal(err)
				}
				embedders = append(embedders, o)
			}
			for _, e := range embedders {
				x, err := e.Embed(context.Background(), set.ps)
				if err != nil {
					b.Fatal(err)
				}
				nmi, purity, peers := quality(b, x, brand.Persona)
				b.Logf("| %s | %s | %.3f | %.3f | %.3f |", set.name, e.Model(), nmi, purity, peers)
			}
		}
	}
}

func TestLearnedRecoversPersonasAtLeastAsWellAsHashing(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	brand := demo.Generate(demo.Config{Members: 3000, Seed: 9, Now: now, Synonyms: 0.3})
	ps, docs := demoProfiles(brand, now)
	for i := range ps {
		ps[i].Activity = nil // stated only: where words matter most
	}
	m, err := embeddings.FitTerms(docs, embeddings.FitConfig{})
	if err != nil {
		t.Fatal(err)
	}
	hx, _ := embeddings.NewLocal().Embed(context.Background(), ps)
	lx, _ := embeddings.NewLearned(m).Embed(context.Background(), ps)
	hn, _, _ := quality(t, hx, brand.Persona)
	ln, _, _ := quality(t, lx, brand.Persona)
	t.Logf("NMI with one community per persona: hashing %.3f, learned %.3f", hn, ln)
	if ln < hn {
		t.Fatalf("learned NMI %.3f below hashing %.3f", ln, hn)
	}
}

func TestUnseenTermsLeanOnLearnedWords(t *testing.T) {
	docs := [][]string{}
	for i := 0; i < 50; i++ {
		docs = append(docs, []string{"spin class", "indoor cycling", "hiit"}, []string{"tai chi", "walking groups", "gardening"})
	}
	m, err := embeddings.FitTerms(docs, embeddings.FitConfig{Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := embeddings.NewLearned(m).Embed(context.Background(), []embeddings.Profile{
		{Interests: []string{"spinning"}}, // unseen; shares "spin" with "spin class"
		{Interests: []string{"spin class", "indoor cycling"}},
		{Interests: []string{"tai chi", "gardening"}},
	})
	if near, far := cos(vs[0], vs[1]), cos(vs[0], vs[2]); near <= far+0.2 {
		t.Fatalf("unseen 'spinning': %.2f to cyclists, %.2f to tai chi; want clearly nearer the cyclists", near, far)
	}
}
