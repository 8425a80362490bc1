// Package openaitest is the one fake OpenAI-compatible endpoint every package's tests
// use: a real httptest.Server speaking the chat completions and embeddings protocol,
// whose answers each test decides.
package openaitest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Server is a running fake endpoint. URL is its base URL with /v1, as OPENAI_BASE_URL
// takes it.
type Server struct {
	*httptest.Server
	URL string
	// Calls counts the requests that reached a handler.
	Calls atomic.Int32
}

// Chat answers one chat completion request; call is 1 for the first request.
type Chat func(call int, req map[string]any, w http.ResponseWriter, r *http.Request)

// EmbeddingsRequest is the body of POST /v1/embeddings.
type EmbeddingsRequest struct {
	Input      []string `json:"input"`
	Model      string   `json:"model"`
	Dimensions int      `json:"dimensions"`
}

// Embeddings answers one embeddings request; call is 1 for the first request.
type Embeddings func(call int, req EmbeddingsRequest, w http.ResponseWriter, r *http.Request)

// Handlers are the endpoints a fake serves; a nil one answers 404.
type Handlers struct {
	Chat       Chat
	Embeddings Embeddings
}

// New starts a fake serving h, closed when the test ends.
func New(t testing.TB, h Handlers) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/chat/completions" && r.Method == http.MethodPost && h.Chat != nil:
			var req map[string]any
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			h.Chat(int(s.Calls.Add(1)), req, w, r)
		case r.URL.Path == "/v1/embeddings" && r.Method == http.MethodPost && h.Embeddings != nil:
			var req EmbeddingsRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			h.Embeddings(int(s.Calls.Add(1)), req, w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	s.URL = s.Server.URL + "/v1"
	t.Cleanup(s.Close)
	return s
}

// NewChat starts a fake whose /v1/chat/completions answers with chat.
func NewChat(t testing.TB, chat Chat) *Server { t.Helper(); return New(t, Handlers{Chat: chat}) }

// NewEmbeddings starts a fake whose /v1/embeddings answers with emb.
func NewEmbeddings(t testing.TB, emb Embeddings) *Server {
	t.Helper()
	return New(t, Handlers{Embeddings: emb})
}

// Vector is one embedding of an answer, at the index of its input.
type Vector struct {
	Index     int
	Embedding []float32
}

// AnswerEmbeddings writes an embeddings answer with vs, in the order given.
func AnswerEmbeddings(w http.ResponseWriter, model string, vs []Vector) {
	data := make([]map[string]any, len(vs))
	for i, v := range vs {
		data[i] = map[string]any{"object": "embedding", "index": v.Index, "embedding": v.Embedding}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": model, "data": data,
		"usage": map[string]any{"prompt_tokens": 1, "total_tokens": 1}})
}

// Answer writes a chat completion whose message is content.
func Answer(w http.ResponseWriter, content string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}}})
}

// Fail writes an OpenAI-style error with status.
func Fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "server_error"}})
}
