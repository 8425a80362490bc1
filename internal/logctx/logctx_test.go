package logctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/belong-loyalty/belong/internal/logctx"
)

// A line logged with a context carries the context's attributes, added in layers,
// also through a logger derived With more attributes; one without them carries none.
func TestContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logctx.Handler(slog.NewJSONHandler(&buf, nil))).With("component", "service")
	ctx := logctx.With(context.Background(), slog.String("request_id", "r-1"))
	ctx = logctx.With(ctx, slog.String("key", "braze (abcd)"))
	log.InfoContext(ctx, "deep")
	log.Info("plain")
	dec := json.NewDecoder(&buf)
	var deep, plain map[string]any
	if err := dec.Decode(&deep); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&plain); err != nil {
		t.Fatal(err)
	}
	if deep["request_id"] != "r-1" || deep["key"] != "braze (abcd)" || deep["component"] != "service" {
		t.Fatalf("with the context: %v", deep)
	}
	if _, ok := plain["request_id"]; ok || plain["component"] != "service" {
		t.Fatalf("without it: %v", plain)
	}
}
