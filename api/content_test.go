package api_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/apikey"
)

func TestContentReviewAndServing(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	reviewer := newKey(t, f.pool, apikey.ScopeContentReview)
	reader := newKey(t, f.pool, apikey.ScopeMatchRead)
	var member string
	for _, m := range f.brand.Members {
		if m.Consent.Personalization {
			member = m.ID
			break
		}
	}
	_, comms := call(t, reader, "GET", f.url+"/v1/members/"+member+"/communities", "")
	community := comms["communities"].([]any)[0].(map[string]any)["id"].(string)

	if code, _ := call(t, reader, "POST", f.url+"/v1/content/drafts", `{"kind":"challenge","community_id":"`+community+`"}`); code != 403 {
		t.Fatalf("a read key drafting: %d, want 403", code)
	}
	ch := requestDraft(t, f, reviewer, `{"kind":"challenge","community_id":"`+community+`","locale":"sv"}`)
	if ch["status"] != "draft" || ch["body"].(map[string]any)["steps"] == nil {
		t.Fatalf("create challenge: %v", ch)
	}
	rec := requestDraft(t, f, reviewer, `{"kind":"recognition","member_id":"`+member+`","occasion":"streak","detail":"30 days"}`)
	if !strings.Contains(rec["body"].(map[string]any)["message"].(string), "30 days") {
		t.Fatalf("create recognition: %v", rec)
	}
	if code, b := call(t, reviewer, "GET", f.url+"/v1/content/jobs/999999", ""); code != 404 || errCode(b) != "job_not_found" {
		t.Fatalf("unknown job: %d %v", code, b)
	}
	if code, b := call(t, reviewer, "GET", f.url+"/v1/content/jobs/x", ""); code != 400 || errCode(b) != "invalid_job_id" {
		t.Fatalf("bad job id: %d %v", code, b)
	}
	for _, bad := range []string{`{"kind":"poem","community_id":"` + community + `"}`, `{"kind":"recognition","member_id":"` + member + `","occasion":"birthday"}`,
		`{"kind":"challenge","community_id":"c-0"}`, `{"kind":"challenge"}`, `{"kind":"challenge","community_id":"` + community + `","member_id":"` + member + `"}`} {
		// Checked before anything is queued: a bad request never becomes a job.
		if code, body := call(t, reviewer, "POST", f.url+"/v1/content/drafts", bad); code < 400 || code > 404 {
			t.Errorf("draft %s: %d %v", bad, code, body)
		}
	}

	if code, b := call(t, reviewer, "POST", f.url+"/v1/content/drafts", `{"kind":"recognition","occasion":"streak","detail":"30 days"}`); code != 400 || errCode(b) != "invalid_draft" {
		t.Errorf("recognition without a member: %d %v", code, b)
	}
	for _, m := range f.brand.Members {
		if !m.Consent.Personalization {
			if code, b := call(t, reviewer, "POST", f.url+"/v1/content/drafts", `{"kind":"recognition","member_id":"`+m.ID+`","community_id":"`+community+`","occasion":"streak","detail":"30 days"}`); code != 422 || errCode(b) != "no_consent" {
				t.Errorf("recognition of a member without consent: %d %v", code, b)
			}
			break
		}
	}

	// Nothing is served before approval.
	_, served := call(t, reader, "GET", f.url+"/v1/communities/"+community+"/content", "")
	if len(served["content"].([]any)) != 0 {
		t.Fatalf("unapproved content served: %v", served)
	}
	// Edit the challenge (new version), reject needs a reason, bulk-approve both.
	body := ch["body"].(map[string]any)
	// An edit must keep the kind's shape: a field dropped or of another type is a 400
	// and makes no version.
	for name, broken := range map[string]func(map[string]any) map[string]any{
		"missing steps":  func(b map[string]any) map[string]any { c := maps.Clone(b); delete(c, "steps"); return c },
		"title a number": func(b map[string]any) map[string]any { c := maps.Clone(b); c["title"] = 7; return c },
		"extra html":     func(b map[string]any) map[string]any { c := maps.Clone(b); c["html"] = "<b>x</b>"; return c },
	} {
		bad, _ := json.Marshal(map[string]any{"body": broken(body)})
		if code, b := call(t, reviewer, "PUT", f.url+"/v1/content/drafts/"+ch["id"].(string), string(bad)); code != 400 || errCode(b) != "invalid_draft" {
			t.Errorf("edit with %s: %d %v", name, code, b)
		}
	}
	body["title"] = "Tillsammans hela vägen"
	edit, _ := json.Marshal(map[string]any{"body": body})
	code, v2 := call(t, reviewer, "PUT", f.url+"/v1/content/drafts/"+ch["id"].(string), string(edit))
	if code != 201 || v2["version"].(float64) != 2 {
		t.Fatalf("edit: %d %v", code, v2)
	}
	if code, b := call(t, reviewer, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/approve", ""); code != 409 || errCode(b) != "draft_not_reviewable" {
		t.Fatalf("approving the superseded version: %d %v", code, b)
	}
	if code, b := call(t, reviewer, "POST", f.url+"/v1/content/drafts/"+v2["id"].(string)+"/reject", `{"reason":""}`); code != 400 || errCode(b) != "reason_required" {
		t.Fatalf("reject without reason: %d %v", code, b)
	}
	ids, _ := json.Marshal(map[string]any{"ids": []string{v2["id"].(string), rec["id"].(string)}})
	if code, b := call(t, reviewer, "POST", f.url+"/v1/content/drafts:approve", string(ids)); code != 200 || b["decided"] != 2.0 {
		t.Fatalf("bulk approve: %d %v", code, b)
	}
	_, served = call(t, reader, "GET", f.url+"/v1/communities/"+community+"/content?kind=challenge", "")
	items := served["content"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["body"].(map[string]any)["title"] != "Tillsammans hela vägen" {
		t.Fatalf("served challenge: %v", served)
	}
	_, mine := call(t, reader, "GET", f.url+"/v1/members/"+member+"/content?kind=recognition", "")
	if len(mine["content"].([]any)) != 1 {
		t.Fatalf("served recognition: %v", mine)
	}
	code, hist := call(t, reviewer, "GET", f.url+"/v1/content/drafts/"+v2["id"].(string), "")
	if code != 200 || len(hist["history"].([]any)) != 3 {
		t.Fatalf("history: %d %v", code, hist)
	}
	code, q := call(t, reviewer, "GET", f.url+"/v1/content/drafts?status=approved", "")
	if code != 200 || len(q["drafts"].([]any)) != 2 {
		t.Fatalf("queue of approved: %d %v", code, q)
	}
}
