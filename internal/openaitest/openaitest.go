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

// NewChat starts a fake whose /v1/chat/completions answers with chat, closed when the
// test ends.
func NewChat(t testing.TB, chat Chat) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		chat(int(s.Calls.Add(1)), req, w, r)
	}))
	s.URL = s.Server.URL + "/v1"
	t.Cleanup(s.Close)
	return s
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
