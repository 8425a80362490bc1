package members_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

func TestUpsertInsertsThenReplaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)

	ms, err := members.DecodeMembers(strings.NewReader(goodMember+"\n"+`{"id":"m-2"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := members.Upsert(ctx, pool, ms)
	if err != nil {
		t.Fatal(err)
	}
	if res != (members.UpsertResult{Inserted: 2}) {
		t.Fatalf("first upsert: %+v", res)
	}
	ms, _ = members.DecodeMembers(strings.NewReader(`{"id":"m-1042","name":"Ana","interests":["yoga"]}`), 0)
	res, err = members.Upsert(ctx, pool, ms)
	if err != nil {
		t.Fatal(err)
	}
	if res != (members.UpsertResult{Updated: 1}) {
		t.Fatalf("second upsert: %+v", res)
	}
	m, err := members.Get(ctx, pool, "m-1042")
	if err != nil {
		t.Fatal(err)
	}
	// A member line replaces the profile: consent not given again is no consent.
	if len(m.Interests) != 1 || m.Interests[0] != "yoga" || m.Consent.Personalization || len(m.Attributes) > 0 {
		t.Fatalf("profile not replaced: %+v", m)
	}
	if _, err := members.Get(ctx, pool, "nobody"); !errors.Is(err, members.ErrNotFound) {
		t.Fatalf("Get unknown: %v", err)
	}
}

func TestEventsReplayAddsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	ms, _ := members.DecodeMembers(strings.NewReader(`{"id":"m-1"}`), 0)
	if _, err := members.Upsert(ctx, pool, ms); err != nil {
		t.Fatal(err)
	}
	file := `{"id":"e-1","member_id":"m-1","type":"class_completed","at":"2026-11-01T07:00:00Z","props":{"category":"yoga"}}
{"id":"e-2","member_id":"m-1","type":"class_completed","at":"2026-11-02T07:00:00Z"}`
	for i, want := range []members.EventResult{{Inserted: 2}, {Duplicates: 2}} {
		es, lines, err := members.DecodeEvents(strings.NewReader(file), 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := members.InsertEvents(ctx, pool, es, lines, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res != want {
			t.Fatalf("pass %d: %+v, want %+v", i+1, res, want)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM member_events").Scan(&n); err != nil || n != 2 {
		t.Fatalf("member_events has %d rows (err %v), want 2", n, err)
	}
}

func TestEventForUnknownMemberWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	ms, _ := members.DecodeMembers(strings.NewReader(`{"id":"m-1"}`), 0)
	if _, err := members.Upsert(ctx, pool, ms); err != nil {
		t.Fatal(err)
	}
	file := `{"id":"e-1","member_id":"m-1","type":"class_completed","at":"2026-11-01T07:00:00Z"}
{"id":"e-2","member_id":"m-404","type":"class_completed","at":"2026-11-02T07:00:00Z"}`
	es, lines, err := members.DecodeEvents(strings.NewReader(file), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = members.InsertEvents(ctx, pool, es, lines, time.Now())
	var be *members.BatchError
	if !errors.As(err, &be) || be.Lines[0].Line != 2 || be.Lines[0].Field != "member_id" {
		t.Fatalf("err = %v, want line 2 member_id", err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM member_events").Scan(&n); err != nil || n != 0 {
		t.Fatalf("member_events has %d rows (err %v), want 0", n, err)
	}
}
