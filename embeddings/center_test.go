package embeddings_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/internal/openaitest"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// squeezedEmbeddings is an OpenAI-compatible fake whose vectors behave like a real
// text model's: a large direction every text shares, plus a bag of the text's words.
// Two unrelated texts score about 0.9, as on real member profiles.
func squeezedEmbeddings(t *testing.T) *openaitest.Server {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	common := make([]float32, embeddings.Dim)
	for i := range common {
		common[i] = float32(rng.NormFloat64())
	}
	embeddings.Normalize(common)
	return openaitest.NewEmbeddings(t, func(_ int, req openaitest.EmbeddingsRequest, w http.ResponseWriter, _ *http.Request) {
		var vs []openaitest.Vector
		for i, text := range req.Input {
			v := make([]float32, embeddings.Dim)
			words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' })
			for _, word := range words {
				h := fnv.New32a()
				h.Write([]byte(word))
				v[h.Sum32()%embeddings.Dim]++
			}
			embeddings.Normalize(v)
			for j := range v {
				v[j] = 0.33*v[j] + common[j]
			}
			vs = append(vs, openaitest.Vector{Index: i, Embedding: v})
		}
		openaitest.AnswerEmbeddings(w, req.Model, vs)
	})
}

func TestCenterMakesUnrelatedMembersScoreNearZero(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	topics := []string{"trail running", "oil painting", "padel", "sourdough baking", "chess", "birdwatching"}
	var lines []string
	for i := range 1200 {
		lines = append(lines, fmt.Sprintf(`{"id":"m-%04d","interests":[%q],"consent":{"personalization":true}}`, i, topics[i%len(topics)]))
	}
	ms, err := members.DecodeMembers(strings.NewReader(strings.Join(lines, "\n")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := members.Upsert(ctx, pool, ms); err != nil {
		t.Fatal(err)
	}
	srv := squeezedEmbeddings(t)
	inner, err := embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: srv.URL, APIKey: "sk-test", Model: "text-embedding-3-small", BatchSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	if e, err := embeddings.WithCenter(ctx, pool, inner); err != nil || e != inner {
		t.Fatalf("WithCenter before any center: %v, %v; want the inner embedder", e, err)
	}
	c, err := embeddings.FitCenter(ctx, pool, inner, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.SqueezeBefore < 0.8 || math.Abs(c.SqueezeAfter) > 0.2 {
		t.Fatalf("mean cosine of random pairs: %.3f before, %.3f after; want ≥ 0.8 and near 0", c.SqueezeBefore, c.SqueezeAfter)
	}
	e, err := embeddings.WithCenter(ctx, pool, inner)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Model(), inner.Model()+"+c1"; got != want {
		t.Fatalf("centered model %q, want %q", got, want)
	}
	if _, err := (&embeddings.Backfill{DB: pool, Embedder: e, Now: func() time.Time { return now }}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	vecs, err := embeddings.Load(ctx, pool, e.Model())
	if err != nil || len(vecs) != 1200 {
		t.Fatalf("%d centered vectors stored (err %v), want 1200", len(vecs), err)
	}
	raw, err := inner.Embed(ctx, []embeddings.Profile{{Interests: []string{topics[0]}}, {Interests: []string{topics[1]}}})
	if err != nil {
		t.Fatal(err)
	}
	if s := cos(raw[0], raw[1]); s < 0.8 {
		t.Fatalf("raw vectors of unrelated members score %.3f; the fake should squeeze them above 0.8", s)
	}
	// Members 0 and 6 share a topic; 0 and 1 do not.
	same, other := cos(vecs[0].Vec, vecs[6].Vec), cos(vecs[0].Vec, vecs[1].Vec)
	if same < 0.9 || math.Abs(other) > 0.3 {
		t.Fatalf("centered: same interest %.3f, unrelated %.3f; want ≥ 0.9 and near 0", same, other)
	}

	// A second fit is the next version; a membership too small learns none.
	if c2, err := embeddings.FitCenter(ctx, pool, inner, now); err != nil || c2.Version != 2 {
		t.Fatalf("refit: version %v, err %v; want 2", c2, err)
	}
	if _, err := pool.Exec(ctx, "UPDATE members SET consent_personalization = false WHERE id >= 'm-0300'"); err != nil {
		t.Fatal(err)
	}
	if _, err := embeddings.FitCenter(ctx, pool, inner, now); !errors.Is(err, embeddings.ErrCenterTooSmall) {
		t.Fatalf("fit on 300 consenting members: %v, want ErrCenterTooSmall", err)
	}
}
