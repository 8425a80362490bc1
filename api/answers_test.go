package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// The real-time answers are cached until a write voids them: a change made behind
// Belong's back (straight SQL) is not seen while the answer lives, and the same change
// through the API is seen at once.
func TestAnswersAreCachedUntilAWriteVoidsThem(t *testing.T) {
	t.Parallel()
	f := setup(t, 120)
	ctx := context.Background()
	var id, peer, other string
	for _, m := range f.brand.Members {
		if !m.Consent.Personalization || !m.Consent.Community {
			continue
		}
		code, body := call(t, f.key, "GET", f.url+"/v1/members/"+m.ID+"/peers?limit=5", "")
		if ps, _ := body["peers"].([]any); code == 200 && len(ps) > 1 {
			id, peer = m.ID, ps[0].(map[string]any)["member_id"].(string)
			other = ps[1].(map[string]any)["member_id"].(string)
			break
		}
	}
	if id == "" {
		t.Fatal("no member with peers")
	}
	communities := func() int {
		code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/communities", "")
		if code != 200 {
			t.Fatalf("communities: %d %v", code, body)
		}
		return len(body["communities"].([]any))
	}
	peers := func() []string {
		code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?limit=5", "")
		if code != 200 {
			t.Fatalf("peers: %d %v", code, body)
		}
		var out []string
		for _, p := range body["peers"].([]any) {
			out = append(out, p.(map[string]any)["member_id"].(string))
		}
		return out
	}
	if communities() == 0 || !slices.Contains(peers(), peer) {
		t.Fatal("member has no communities or lost its peer")
	}
	// Behind Belong's back: the cached answers stand.
	if _, err := f.pool.Exec(ctx, "UPDATE members SET consent_personalization = false WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if communities() == 0 {
		t.Fatal("communities answered from the database, not the cache")
	}
	// Through the API: the write voids them at once.
	body := fmt.Sprintf(`{"id":%q,"consent":{"personalization":false,"community":true}}`, id)
	if code, res := call(t, f.key, "POST", f.url+"/v1/members:batch", body); code != 200 {
		t.Fatalf("withdraw consent: %d %v", code, res)
	}
	if n := communities(); n != 0 {
		t.Fatalf("consent withdrawn through the API, still %d communities", n)
	}
	// A peer who withdraws consent leaves the answers that show them; one who consents
	// again is back at once, in answers cached while they were away (their community's).
	setConsent := func(member string, community bool) {
		body := fmt.Sprintf(`{"id":%q,"consent":{"personalization":true,"community":%t}}`, member, community)
		if code, res := call(t, f.key, "POST", f.url+"/v1/members:batch", body); code != 200 {
			t.Fatalf("consent of %s: %d %v", member, code, res)
		}
	}
	if _, err := f.pool.Exec(ctx, "UPDATE members SET consent_personalization = true WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	setConsent(id, true)
	setConsent(peer, false)
	if ps := peers(); slices.Contains(ps, peer) {
		t.Fatalf("peer %s withdrew, still shown: %v", peer, ps)
	}
	setConsent(peer, true)
	if ps := peers(); !slices.Contains(ps, peer) {
		t.Fatalf("peer %s consented again, not shown: %v", peer, ps)
	}
	// Erasing a peer voids every answer that shows them.
	if code, _ := raw(t, "DELETE", f.url+"/v1/members/"+other, "", bearer(f.key)...); code.StatusCode != 204 {
		t.Fatalf("erase peer: %d", code.StatusCode)
	}
	if ps := peers(); slices.Contains(ps, other) {
		t.Fatalf("erased peer %s still shown: %v", other, ps)
	}
}

// Changes published in a transaction reach every listener when it commits, and never
// when it rolls back.
func TestChangesReachListenersOnCommitOnly(t *testing.T) {
	t.Parallel()
	pool := dbtest.Schema(t)
	url := dbtest.URL(t)
	got := make(chan []string, 10)
	up := make(chan bool, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&changes.Listener{URL: url, Apply: func(k []string) { got <- k }, Reset: func(u bool) { up <- u },
			Logger: slog.New(slog.DiscardHandler)}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case u := <-up:
		if !u {
			t.Fatal("listener did not connect")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not connect in time")
	}
	marker := changes.Member(fmt.Sprintf("rolled-back-%d", time.Now().UnixNano()))
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := changes.Publish(ctx, tx, []string{marker}); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	want := changes.Member(fmt.Sprintf("committed-%d", time.Now().UnixNano()))
	// Many keys: they are split over several notifications, none lost.
	keys := []string{want}
	for i := range 2000 {
		keys = append(keys, changes.Member(fmt.Sprintf("bulk-%d", i)))
	}
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := changes.Publish(ctx, tx, keys); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < len(keys) {
		select {
		case ks := <-got:
			for _, k := range ks {
				if k == marker {
					t.Fatal("a rolled-back change was delivered")
				}
				if slices.Contains(keys, k) {
					seen[k] = true
				}
			}
		case <-deadline:
			t.Fatalf("heard %d of %d keys", len(seen), len(keys))
		}
	}
}
