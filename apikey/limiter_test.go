package apikey_test

import (
	"context"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

func TestLimiterAlone(t *testing.T) {
	if l := apikey.NewLimiter(0); l != nil {
		t.Fatal("a zero rate made a limiter")
	}
	var none *apikey.Limiter
	if ok, _, _ := none.Allow(1, time.Now()); !ok {
		t.Fatal("no limiter refused")
	}
	l := apikey.NewLimiter(5) // bursts of 10
	now := time.Now()
	for i := range 10 {
		ok, _, q := l.Allow(1, now)
		if !ok || q.Limit != 10 || q.Remaining != 9-i {
			t.Fatalf("request %d of the burst: ok %v quota %+v", i+1, ok, q)
		}
	}
	ok, wait, q := l.Allow(1, now)
	if ok || wait <= 0 || wait > 200*time.Millisecond || q.Remaining != 0 || q.Reset != 2 {
		t.Fatalf("past the burst: ok %v wait %v quota %+v", ok, wait, q)
	}
	if ok, _, _ := l.Allow(2, now); !ok {
		t.Fatal("another key shares the first one's bucket")
	}
	if ok, _, _ := l.Allow(1, now.Add(250*time.Millisecond)); !ok {
		t.Fatal("a token did not come back at 5 a second")
	}
}

// Two nodes over one database: what one admits is taken from the other's bucket.
func TestLimiterShared(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.Schema(t)
	a, b := apikey.NewLimiter(5), apikey.NewLimiter(5)
	share := func() {
		t.Helper()
		for _, l := range []*apikey.Limiter{a, b} {
			if err := l.ShareOnce(ctx, pool); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Both nodes have seen the key and each other.
	a.Allow(1, time.Now())
	b.Allow(1, time.Now())
	share()
	share()
	_, _, before := b.Allow(1, time.Now())
	if before.Remaining < 7 {
		t.Fatalf("node b before node a spends: %+v", before)
	}
	admitted := 0
	for range 20 {
		if ok, _, _ := a.Allow(1, time.Now()); ok {
			admitted++
		}
	}
	if admitted < 7 || admitted > 9 {
		t.Fatalf("node a admitted %d of its burst", admitted)
	}
	share()
	if ok, _, q := b.Allow(1, time.Now()); ok && q.Remaining > 1 {
		t.Fatalf("node b after node a spent the quota: admitted with %+v", q)
	}
	// A key node b never saw is not charged there, and a third node counts from
	// when it is first heard of.
	c := apikey.NewLimiter(5)
	if err := c.ShareOnce(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if ok, _, q := c.Allow(1, time.Now()); !ok || q.Remaining != 9 {
		t.Fatalf("a new node: %v %+v", ok, q)
	}
}
