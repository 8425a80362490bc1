package generation_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/internal/openaitest"
)

// fakeChat is the shared OpenAI-compatible fake; reply decides each answer from the
// attempt number and the request.
func fakeChat(t *testing.T, reply func(attempt int, req map[string]any, w http.ResponseWriter)) (*openaitest.Server, *atomic.Int32) {
	t.Helper()
	srv := openaitest.NewChat(t, func(call int, req map[string]any, w http.ResponseWriter, _ *http.Request) { reply(call, req, w) })
	return srv, &srv.Calls
}

func answer(w http.ResponseWriter, content string) { openaitest.Answer(w, content) }

var req = generation.Request{Kind: generation.KindCommunityPrompt, Locale: "en",
	Community: generation.CommunityFacts{ID: "c-1", Name: "Yoga · Meditation", Labels: []string{"yoga"}, Size: 20}}

func TestOpenAIGeneratorAsksForSchemaAndRetries(t *testing.T) {
	srv, calls := fakeChat(t, func(attempt int, body map[string]any, w http.ResponseWriter) {
		rf := body["response_format"].(map[string]any)
		if rf["type"] != "json_schema" || rf["json_schema"].(map[string]any)["name"] != "community_prompt" {
			t.Errorf("response_format %v", rf)
		}
		msgs := body["messages"].([]any)
		if !strings.Contains(msgs[0].(map[string]any)["content"].(string), "Warm and plain") {
			t.Errorf("brand voice missing from the system prompt")
		}
		if attempt == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"message":"slow down","type":"rate_limit"}}`))
			return
		}
		answer(w, `{"prompt":"What brought you to the mat?"}`)
	})
	g, err := generation.NewOpenAI(generation.OpenAIConfig{BaseURL: srv.URL, Model: "m", Retries: 2, Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	req.Voice = "Warm and plain."
	b, err := g.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if b["prompt"] != "What brought you to the mat?" || calls.Load() != 2 {
		t.Fatalf("body %v after %d calls; want the second attempt's answer", b, calls.Load())
	}
}

func TestOpenAIFailuresFallBackToTemplates(t *testing.T) {
	ctx := context.Background()
	pool := seedRun(t)
	cases := map[string]func(int, map[string]any, http.ResponseWriter){
		"malformed JSON": func(_ int, _ map[string]any, w http.ResponseWriter) { answer(w, `{"prompt": "unterminated`) },
		"missing field":  func(_ int, _ map[string]any, w http.ResponseWriter) { answer(w, `{"text":"hi"}`) },
		"timeout": func(_ int, _ map[string]any, w http.ResponseWriter) {
			time.Sleep(300 * time.Millisecond)
			answer(w, `{"prompt":"too late"}`)
		},
		"server error": func(_ int, _ map[string]any, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
	}
	for name, reply := range cases {
		srv, _ := fakeChat(t, reply)
		g, _ := generation.NewOpenAI(generation.OpenAIConfig{BaseURL: srv.URL, Model: "m",
			Timeout: 100 * time.Millisecond, Retries: 1, Backoff: time.Millisecond})
		if _, err := g.Generate(ctx, req); err == nil {
			t.Errorf("%s: no error from the generator", name)
		}
		d, err := draftAndStore(t, generation.Drafting{Generator: g}, pool, req, "", nil, "test")
		if err != nil {
			t.Fatalf("%s: drafting failed instead of falling back: %v", name, err)
		}
		if !d.Fallback || d.Generator != "template" || d.Body["prompt"] == "" {
			t.Errorf("%s: draft %+v, want a template draft marked as a fallback", name, d)
		}
	}
}
