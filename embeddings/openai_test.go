package embeddings_test

import (
	"context"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/internal/openaitest"
)

// fakeEmbeddings is the shared OpenAI-compatible fake answering /v1/embeddings.
// Each vector is derived from its input text so tests can tell inputs apart, and is
// returned unnormalized and in reverse order, as a server may. It remembers the
// last Authorization header.
func fakeEmbeddings(t *testing.T, dims int, status int) (*openaitest.Server, *atomic.Value) {
	t.Helper()
	var lastAuth atomic.Value
	srv := openaitest.NewEmbeddings(t, func(_ int, req openaitest.EmbeddingsRequest, w http.ResponseWriter, r *http.Request) {
		lastAuth.Store(r.Header.Get("Authorization"))
		if status != http.StatusOK {
			openaitest.Fail(w, status, "overloaded")
			return
		}
		if req.Model == "" || req.Dimensions != 256 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var vs []openaitest.Vector
		for i := len(req.Input) - 1; i >= 0; i-- {
			v := make([]float32, dims)
			for j, c := range req.Input[i] {
				v[(j*31+int(c))%dims] += 3
			}
			vs = append(vs, openaitest.Vector{Index: i, Embedding: v})
		}
		openaitest.AnswerEmbeddings(w, req.Model, vs)
	})
	return srv, &lastAuth
}

func TestOpenAIEmbedder(t *testing.T) {
	srv, auth := fakeEmbeddings(t, 256, http.StatusOK)
	calls := &srv.Calls
	e, err := embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: srv.URL, APIKey: "sk-test", Model: "text-embedding-3-small", BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	ps := []embeddings.Profile{
		{Interests: []string{"yoga"}},
		{Interests: []string{"padel"}, SkillLevel: "expert"},
		{Causes: []string{"ocean conservation"}},
	}
	vs, err := e.Embed(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || calls.Load() != 2 {
		t.Fatalf("%d vectors in %d calls, want 3 in 2 batches", len(vs), calls.Load())
	}
	if auth.Load() != "Bearer sk-test" {
		t.Fatalf("Authorization %q", auth.Load())
	}
	single, err := e.Embed(context.Background(), ps[1:2])
	if err != nil {
		t.Fatal(err)
	}
	for i := range vs {
		var n float64
		for _, f := range vs[i] {
			n += float64(f) * float64(f)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Fatalf("vector %d has |v|² = %f, want 1", i, n)
		}
	}
	// The answer came back reversed; vectors must still line up with their inputs.
	for j := range single[0] {
		if single[0][j] != vs[1][j] {
			t.Fatal("vector 1 does not belong to profile 1: response order not restored")
		}
	}
	if e.Model() != "openai:text-embedding-3-small:text-v1" || e.Dim() != embeddings.Dim {
		t.Fatalf("model %q dim %d", e.Model(), e.Dim())
	}
}

func TestOpenAIEmbedderFailsClearly(t *testing.T) {
	wrongDim, _ := fakeEmbeddings(t, 1536, http.StatusOK)
	e, _ := embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: wrongDim.URL, Model: "m"})
	if _, err := e.Embed(context.Background(), []embeddings.Profile{{Interests: []string{"yoga"}}}); err == nil || !strings.Contains(err.Error(), "1536 dimensions") {
		t.Fatalf("wrong dimensions: %v", err)
	}
	down, _ := fakeEmbeddings(t, 256, http.StatusServiceUnavailable)
	downCalls := &down.Calls
	e, _ = embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: down.URL, Model: "m", Retries: 2, Backoff: time.Millisecond})
	if _, err := e.Embed(context.Background(), []embeddings.Profile{{Interests: []string{"yoga"}}}); err == nil {
		t.Fatal("server error: no error")
	}
	if downCalls.Load() != 3 {
		t.Fatalf("a server that stays down got %d calls, want 1 + 2 retries", downCalls.Load())
	}
	slow := openaitest.NewEmbeddings(t, func(_ int, _ openaitest.EmbeddingsRequest, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	e, _ = embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: slow.URL, Model: "m", Timeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := e.Embed(context.Background(), []embeddings.Profile{{Interests: []string{"yoga"}}}); err == nil {
		t.Fatal("slow server: no error")
	}
	if time.Since(start) > 1500*time.Millisecond {
		t.Fatal("the timeout did not cut the request short")
	}
	if _, err := embeddings.NewOpenAI(embeddings.OpenAIConfig{Model: "m"}); err == nil {
		t.Fatal("no base URL accepted")
	}
}

func TestProfileText(t *testing.T) {
	p := embeddings.Profile{Interests: []string{"trail running"}, Causes: []string{"sustainability"}, SkillLevel: "beginner",
		Activity: []embeddings.Activity{{Type: "run_logged", Category: "trail running", Weight: 6.25}, {Type: "class_booked", Weight: 9}}}
	want := "Interests: trail running. Causes: sustainability. Skill level: beginner. Recent activity: class booked ×9, run logged (trail running) ×6.3."
	if got := p.Text(); got != want {
		t.Fatalf("Text() = %q\nwant     %q", got, want)
	}
}

func TestOpenAIEmbedderRetriesAfterRateLimit(t *testing.T) {
	srv := openaitest.NewEmbeddings(t, func(call int, req openaitest.EmbeddingsRequest, w http.ResponseWriter, _ *http.Request) {
		if call == 1 {
			w.Header().Set("Retry-After", "1")
			openaitest.Fail(w, http.StatusTooManyRequests, "rate limited")
			return
		}
		var vs []openaitest.Vector
		for i := range req.Input {
			v := make([]float32, 256)
			v[i%256] = 1
			vs = append(vs, openaitest.Vector{Index: i, Embedding: v})
		}
		if len(req.Input) == 3 { // a server that returns one vector too few
			vs = vs[:2]
		}
		openaitest.AnswerEmbeddings(w, "m", vs)
	})
	calls := &srv.Calls
	e, _ := embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: srv.URL, Model: "m", Backoff: time.Millisecond})
	start := time.Now()
	vs, err := e.Embed(context.Background(), []embeddings.Profile{{Interests: []string{"yoga"}}, {Causes: []string{"ocean"}}})
	if err != nil || len(vs) != 2 {
		t.Fatalf("after a 429: %v (%d vectors)", err, len(vs))
	}
	if calls.Load() != 2 || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("%d calls in %v: want a retry after the 1 s Retry-After", calls.Load(), time.Since(start))
	}
	if _, err := e.Embed(context.Background(), make([]embeddings.Profile, 3)); err == nil || !strings.Contains(err.Error(), "2 vectors for 3 inputs") {
		t.Fatalf("wrong vector count: %v", err)
	}
}
