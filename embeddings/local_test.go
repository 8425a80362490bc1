package embeddings_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/embeddings"
)

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func embed(t *testing.T, ps ...embeddings.Profile) [][]float32 {
	t.Helper()
	vs, err := embeddings.NewLocal().Embed(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestLocalIsUnitAndDeterministic(t *testing.T) {
	p := embeddings.Profile{Interests: []string{"trail running", "hiking"}, Causes: []string{"sustainability"},
		SkillLevel: "beginner", Activity: []embeddings.Activity{{Type: "run_logged", Category: "trail running", Weight: 6}}}
	vs := embed(t, p, embeddings.Profile{})
	a, b := vs[0], vs[1]
	again := embed(t, p)[0]
	if len(a) != embeddings.Dim {
		t.Fatalf("dim %d, want %d", len(a), embeddings.Dim)
	}
	if n := cos(a, a); math.Abs(n-1) > 1e-5 {
		t.Fatalf("|v|² = %f, want 1", n)
	}
	for i := range a {
		if a[i] != again[i] {
			t.Fatal("same profile, different vector")
		}
	}
	if n := cos(b, b); math.Abs(n-1) > 1e-5 {
		t.Fatalf("empty profile |v|² = %f, want 1", n)
	}
}

func TestLocalPutsLikeMembersClose(t *testing.T) {
	vs := embed(t,
		embeddings.Profile{Interests: []string{"trail running", "hiking"}, SkillLevel: "intermediate"},
		embeddings.Profile{Interests: []string{"trail running", "ultramarathons"}, SkillLevel: "advanced"},
		embeddings.Profile{Interests: []string{"yoga", "meditation"}, SkillLevel: "beginner"},
		// Behaviour alone: doing trail running points towards saying it.
		embeddings.Profile{Activity: []embeddings.Activity{{Type: "run_logged", Category: "trail running", Weight: 10}}},
	)
	runners, runnerYogi := cos(vs[0], vs[1]), cos(vs[0], vs[2])
	if runners <= runnerYogi+0.2 {
		t.Fatalf("two trail runners %.3f vs runner-yogi %.3f: want runners clearly closer", runners, runnerYogi)
	}
	if doer, yogi := cos(vs[3], vs[0]), cos(vs[3], vs[2]); doer <= yogi+0.1 {
		t.Fatalf("trail-running activity vs runner %.3f, vs yogi %.3f", doer, yogi)
	}
}

func TestProfileHashIgnoresOrderButNotContent(t *testing.T) {
	a := embeddings.Profile{Interests: []string{"a", "b"}, SkillLevel: "beginner"}
	b := embeddings.Profile{Interests: []string{"b", "a"}, SkillLevel: "beginner"}
	c := embeddings.Profile{Interests: []string{"a", "b"}, SkillLevel: "advanced"}
	if string(a.Hash("m")) != string(b.Hash("m")) {
		t.Error("order changed the hash")
	}
	if string(a.Hash("m")) == string(c.Hash("m")) {
		t.Error("skill change kept the hash")
	}
	if string(a.Hash("m")) == string(a.Hash("other")) {
		t.Error("model change kept the hash")
	}
}

// With IDF, sharing a rare term brings two members closer than sharing one everyone
// holds; without it both count alike.
func TestIDFWeighsRareTermsUp(t *testing.T) {
	df := map[string]int{"yoga": 900, "chess": 10, "rowing": 10, "knitting": 10}
	ps := []embeddings.Profile{
		{Interests: []string{"yoga", "chess"}},
		{Interests: []string{"yoga", "rowing"}},    // shares the common term
		{Interests: []string{"knitting", "chess"}}, // shares the rare term
	}
	sims := func(e embeddings.Embedder) (common, rare float64) {
		vs, err := e.Embed(context.Background(), ps)
		if err != nil {
			t.Fatal(err)
		}
		return cos(vs[0], vs[1]), cos(vs[0], vs[2])
	}
	common, rare := sims(embeddings.NewLocal())
	idf := embeddings.NewLocal().WithIDF(df, 1000)
	commonIDF, rareIDF := sims(idf)
	t.Logf("sharing yoga (900 of 1,000) %.3f, chess (10) %.3f; with IDF %.3f, %.3f", common, rare, commonIDF, rareIDF)
	if math.Abs(common-rare) > 0.1 || commonIDF > common-0.3 || rareIDF < rare || rareIDF-commonIDF < 0.4 {
		t.Fatalf("with IDF the common term must weigh less and the rare one more")
	}
	if idf.Model() != embeddings.LocalModel+"+idf" {
		t.Fatalf("model %q", idf.Model())
	}
	m := &embeddings.TermModel{Version: 3, Dim: 2, Members: 1000, Terms: map[string][]float32{"yoga": {1, 0}}, DF: df}
	if got := embeddings.NewLearned(m).Model(); !strings.HasSuffix(got, "+idf") {
		t.Fatalf("a learned model that counted its terms embeds without IDF: %q", got)
	}
}
