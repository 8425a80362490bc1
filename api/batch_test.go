package api_test

import (
	"strings"
	"testing"
)

func TestMembersBatch(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	good := `{"id":"m-1042","name":"Ana","locale":"sv-SE","joined_at":"2024-03-01T00:00:00Z","interests":["trail running","ocean clean-ups"],"causes":["sustainability"],"skill_level":"beginner","attributes":{"tier":"gold","city":"Lisbon"},"consent":{"personalization":true,"community":true}}`
	code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", good+"\n"+`{"id":"m-7"}`)
	if code != 200 || body["inserted"] != 2.0 || body["updated"] != 0.0 {
		t.Fatalf("good batch: %d %v", code, body)
	}
	code, body = call(t, f.key, "POST", f.url+"/v1/members:batch", `{"id":"m-8"}`+"\n"+`{"id":"m-9","joined_at":12}`+"\n"+`{"id":"m-10"}`)
	if code != 422 || errCode(body) != "invalid_batch" {
		t.Fatalf("bad batch: %d %v", code, body)
	}
	details := body["error"].(map[string]any)["details"].([]any)
	d := details[0].(map[string]any)
	if len(details) != 1 || d["line"] != 2.0 || d["field"] != "joined_at" {
		t.Fatalf("bad batch details %v, want line 2, field joined_at", details)
	}
	if n := countRows(t, f.pool, "members"); n != 2 {
		t.Fatalf("a bad batch wrote members: %d stored, want 2", n)
	}
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", ""); code != 400 || errCode(body) != "empty_batch" {
		t.Fatalf("empty batch: %d %v", code, body)
	}
}

func TestEventsBatchIsIdempotent(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", `{"id":"m-1042"}`); code != 200 {
		t.Fatalf("member: %d %v", code, body)
	}
	events := `{"id":"e-9","member_id":"m-1042","type":"class_completed","at":"2026-11-01T07:00:00Z","props":{"category":"trail running","minutes":45}}
{"id":"e-10","member_id":"m-1042","type":"class_completed","at":"2026-11-02T07:00:00Z"}`
	if code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", events); code != 200 || body["inserted"] != 2.0 {
		t.Fatalf("events: %d %v", code, body)
	}
	if code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", events); code != 200 || body["inserted"] != 0.0 || body["duplicates"] != 2.0 {
		t.Fatalf("replay: %d %v", code, body)
	}
	code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", `{"id":"e-11","member_id":"m-1042","type":"x","at":"2026-11-02T07:00:00Z"}`+"\n"+
		`{"id":"e-12","member_id":"ghost","type":"x","at":"2026-11-02T07:00:00Z"}`)
	if code != 422 || errCode(body) != "invalid_batch" || !strings.Contains(jsonString(body), `"line":2`) {
		t.Fatalf("unknown member: %d %v", code, body)
	}
	if n := countRows(t, f.pool, "member_events"); n != 2 {
		t.Fatalf("member_events has %d rows, want 2", n)
	}
}
