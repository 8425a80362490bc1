package api_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/service"
)

// traces counts, in every text-like column of every table of the test's schema, the
// values that hold needle (bytea compared as hex).
func traces(t *testing.T, f fixture, needle string) map[string]int {
	t.Helper()
	ctx := context.Background()
	rows, err := f.pool.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type IN ('text', 'jsonb', 'json', 'bytea', 'ARRAY', 'character varying')`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, column, kind string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.table, &c.column, &c.kind)
	})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, c := range cols {
		expr, arg := pgx.Identifier{c.column}.Sanitize()+"::text", needle
		if c.kind == "bytea" {
			expr, arg = "encode("+pgx.Identifier{c.column}.Sanitize()+", 'hex')", hex.EncodeToString([]byte(needle))
		}
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE strpos(%s, $1) > 0", pgx.Identifier{c.table}.Sanitize(), expr)
		if err := f.pool.QueryRow(ctx, q, arg).Scan(&n); err != nil {
			t.Fatalf("%s.%s: %v", c.table, c.column, err)
		}
		if n > 0 {
			found[c.table+"."+c.column] = n
		}
	}
	return found
}

// TestErasureLeavesNoTrace puts a member everywhere a member can be — events,
// milestones and their recognition, a vector and memberships, feedback, an error
// answer stored under an Idempotency-Key, a job, and a reviewer's edit that names
// them in other content — erases them, and then searches every column of every table
// for their id and full name.
func TestErasureLeavesNoTrace(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	const id, name = "m-erase.me", "Zelda Quixote"
	// An error answer that quotes the id, stored under an Idempotency-Key.
	early := fmt.Sprintf(`{"id":"e-early","member_id":%q,"type":"x","at":"2026-11-01T07:00:00Z"}`, id)
	if resp, body := raw(t, "POST", f.url+"/v1/events:batch", early, append(bearer(f.key), "Idempotency-Key", "k-erase")...); resp.StatusCode != 422 || !strings.Contains(body, id) {
		t.Fatalf("events before the member: %d %s", resp.StatusCode, body)
	}
	member := mustJSON(t, map[string]any{"id": id, "name": name, "timezone": "UTC", "interests": f.brand.Members[0].Interests,
		"consent": map[string]bool{"personalization": true, "community": true}})
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", member); code != 200 {
		t.Fatalf("member: %d %v", code, body)
	}
	// Embed and cluster again so the member has a vector and communities.
	ctx := context.Background()
	if _, err := f.svc.Embed(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Cluster(ctx, service.ClusterParams{TargetSize: 40, Seed: 1}, false, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	if code, body := call(t, f.key, "POST", f.url+"/v1/events:batch",
		fmt.Sprintf(`{"id":"e-erase-1","member_id":%q,"type":"class_completed","at":%q,"props":{"note":"with %s"}}`, id, now, name)); code != 200 || body["recognitions_queued"] != 1.0 {
		t.Fatalf("events: %d %v", code, body)
	}
	f.settle(t)
	if code, body := call(t, f.key, "POST", f.url+"/v1/feedback", fmt.Sprintf(`{"member_id":%q,"rating":5,"text":"I am %s"}`, id, name)); code != 201 {
		t.Fatalf("feedback: %d %v", code, body)
	}
	// A reviewer names the member in another community's challenge.
	_, comms := call(t, f.key, "GET", f.url+"/v1/communities?limit=1", "")
	community := comms["communities"].([]any)[0].(map[string]any)["id"].(string)
	ch := requestDraft(t, f, f.key, `{"kind":"challenge","community_id":"`+community+`"}`)
	body := ch["body"].(map[string]any)
	body["narrative"] = "Led by " + name + " (" + strings.ToUpper(name) + ", Zelda  quixote) this month."
	edit := fmt.Sprintf(`{"body":%s}`, mustJSON(t, body))
	if code, b := call(t, f.key, "PUT", f.url+"/v1/content/drafts/"+ch["id"].(string), edit); code != 201 {
		t.Fatalf("edit: %d %v", code, b)
	}
	// A reviewer asks for a recognition of someone else that names the member.
	var other string
	for _, m := range f.brand.Members {
		if m.Consent.Personalization {
			other = m.ID
			break
		}
	}
	requestDraft(t, f, f.key, `{"kind":"recognition","member_id":"`+other+`","occasion":"streak","detail":"paced by `+name+`"}`)
	before := traces(t, f, id)
	for _, want := range []string{"members.id", "member_events.member_id", "member_vectors.member_id", "memberships.member_id",
		"member_milestones.member_id", "content_drafts.member_id", "feedback.member_id", "idempotency_keys.body", "river_job.args"} {
		if before[want] == 0 {
			t.Fatalf("fixture: no %s holds %s before erasure (found %v)", want, id, before)
		}
	}
	if n := traces(t, f, name); n["content_drafts.body"] == 0 || n["content_reviews.changes"] == 0 || n["river_job.args"] == 0 {
		t.Fatalf("fixture: the reviewer's edit does not name the member: %v", n)
	}

	if resp, b := raw(t, "DELETE", f.url+"/v1/members/"+id, "", bearer(f.key)...); resp.StatusCode != 204 {
		t.Fatalf("erase: %d %s", resp.StatusCode, b)
	}
	if left := traces(t, f, id); len(left) > 0 {
		t.Errorf("after erasure the id is still in %v", left)
	}
	for _, spelled := range []string{name, strings.ToUpper(name), "Zelda  quixote"} {
		if left := traces(t, f, spelled); len(left) > 0 {
			t.Errorf("after erasure %q is still in %v", spelled, left)
		}
	}
	if code, b := call(t, f.key, "DELETE", f.url+"/v1/members/"+id, ""); code != 404 || errCode(b) != "member_not_found" {
		t.Fatalf("second erase: %d %v", code, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
