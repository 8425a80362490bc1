package apikey_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// A key with an expiry stops working when it passes, cached or not; one whose expiry
// is past cannot be made; uses are noted in memory and written by FlushUses, which
// List then shows.
func TestExpiryAndLastUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	past := time.Now().Add(-time.Minute)
	if _, _, err := apikey.CreateExpiring(ctx, pool, "late", []string{apikey.ScopeMatchRead}, &past); err == nil {
		t.Fatal("a key created already expired")
	}
	soon := time.Now().Add(300 * time.Millisecond)
	k, secret, err := apikey.CreateExpiring(ctx, pool, "short", []string{apikey.ScopeMatchRead}, &soon)
	if err != nil {
		t.Fatal(err)
	}
	_, forever, err := apikey.Create(ctx, pool, "long", []string{apikey.ScopeMetricsRead})
	if err != nil {
		t.Fatal(err)
	}
	v := &apikey.Verifier{DB: pool}
	if got, err := v.Verify(ctx, secret); err != nil || got.ID != k.ID {
		t.Fatalf("before expiry: %+v %v", got, err)
	}
	if _, err := v.Verify(ctx, forever); err != nil {
		t.Fatal(err)
	}
	keys, err := apikey.List(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.LastUsedAt != nil {
			t.Fatalf("key %s has a last use before any flush: the request path wrote", k.Name)
		}
	}
	if err := v.FlushUses(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, err = apikey.List(ctx, pool); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.LastUsedAt == nil || time.Since(*k.LastUsedAt) > time.Minute {
			t.Fatalf("key %s: last used %v, want just now", k.Name, k.LastUsedAt)
		}
	}
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	if _, err := v.Verify(ctx, secret); !errors.Is(err, apikey.ErrInvalid) {
		t.Fatalf("after expiry, from the cache: %v", err)
	}
	if _, err := (&apikey.Verifier{DB: pool}).Verify(ctx, secret); !errors.Is(err, apikey.ErrInvalid) {
		t.Fatalf("after expiry, from the database: %v", err)
	}
	if _, err := v.Verify(ctx, forever); err != nil {
		t.Fatalf("a key without expiry: %v", err)
	}
}
