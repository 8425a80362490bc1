package api_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/service"
)

func TestMilestonesFireOnceAndMomentsDeliverThem(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	// A member of a community, in Stockholm, who joined a year ago tomorrow (UTC).
	var member string
	for _, m := range f.brand.Members {
		if m.Consent.Personalization {
			member = m.ID
			break
		}
	}
	joined := time.Now().UTC().AddDate(-1, 0, 1).Format(time.RFC3339)
	interests, _ := json.Marshal(f.brand.Members[0].Interests)
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", fmt.Sprintf(
		`{"id":%q,"name":"Ana Lindqvist","locale":"sv-SE","timezone":"Europe/Stockholm","joined_at":%q,"interests":%s,"consent":{"personalization":true,"community":true}}`,
		member, joined, interests)); code != 200 {
		t.Fatalf("member: %d %v", code, body)
	}
	var batch strings.Builder
	now := time.Now().UTC()
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&batch, `{"id":"mile-%d","member_id":%q,"type":"workshop_attended","at":%q}`+"\n", i, member, now.Add(-time.Duration(i)*time.Hour).Format(time.RFC3339))
	}
	code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", batch.String())
	if code != 200 || body["milestones"].(float64) < 2 || body["recognitions_queued"] != 1.0 {
		t.Fatalf("events: %d %v, want the 1st and 10th workshop to fire, one recognition queued", code, body)
	}
	f.settle(t)
	// A replay fires nothing.
	if code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", batch.String()); code != 200 || body["milestones"] != 0.0 {
		t.Fatalf("replay: %d %v", code, body)
	}
	code, rec := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/recognitions", "")
	list := rec["recognitions"].([]any)
	keys := []string{}
	drafted := 0
	for _, r := range list {
		r := r.(map[string]any)
		keys = append(keys, r["key"].(string))
		if r["draft_status"] == "approved" {
			drafted++
		}
	}
	if code != 200 || !strings.Contains(strings.Join(keys, " "), "count:workshop_attended:10") || drafted != 1 {
		t.Fatalf("recognitions %v (approved drafts %d): want the 10th workshop, one approved template draft", keys, drafted)
	}

	// The moment: the recognition is due, in Swedish, and gets delivered on the channel.
	code, mo := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/moment?channel=push", "")
	if code != 200 || mo["next_action"].(map[string]any)["action"] != "celebrate" || mo["content"] == nil {
		t.Fatalf("moment: %d %v", code, mo)
	}
	msg := mo["content"].(map[string]any)["body"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "Ana") || strings.Contains(msg, "Lindqvist") || mo["content"].(map[string]any)["locale"] != "sv" {
		t.Fatalf("recognition %q: want Ana, in Swedish, never the surname", msg)
	}
	if mo["community"] == nil || mo["stage"] == "" {
		t.Fatalf("moment lacks community or stage: %v", mo)
	}
	// Reading is free of side effects: Braze renders the HTML, text and AMP parts of a
	// message from three identical calls, and each gets the same recognition.
	for range 2 {
		if _, mo2 := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/moment?channel=push", ""); !reflect.DeepEqual(mo2, mo) {
			t.Fatalf("a repeated read answered differently:\n%v\n%v", mo2, mo)
		}
	}
	// The journey platform acknowledges the delivery once it went out; a retried
	// acknowledgement changes nothing, and a bad one is refused.
	rid := mo["recognition"].(map[string]any)["id"].(string)
	deliveries := f.url + "/v1/recognitions/" + rid + "/deliveries"
	if code, b := call(t, f.key, "POST", deliveries, `{"channel":"push"}`); code != 201 || b["delivered"] != true ||
		b["recognition"].(map[string]any)["channel"] != "push" {
		t.Fatalf("acknowledge: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", deliveries, `{"channel":"email"}`); code != 200 || b["delivered"] != false ||
		b["recognition"].(map[string]any)["channel"] != "push" {
		t.Fatalf("acknowledge again: %d %v, want the first delivery kept", code, b)
	}
	for body, want := range map[string]string{`{"channel":""}`: "invalid_channel", `{"channel":"a b"}`: "invalid_channel",
		`{"channel":"pésh"}`: "invalid_channel", `{"channel":"<script>"}`: "invalid_channel", `{"chanel":"push"}`: "invalid_json"} {
		if code, b := call(t, f.key, "POST", deliveries, body); code != 400 || errCode(b) != want {
			t.Fatalf("acknowledge %s: %d %v, want %s", body, code, b, want)
		}
	}
	for _, id := range []string{"999999999", "x", "-1"} {
		if code, b := call(t, f.key, "POST", f.url+"/v1/recognitions/"+id+"/deliveries", `{"channel":"push"}`); code != 404 ||
			errCode(b) != "recognition_not_found" {
			t.Fatalf("acknowledge recognition %s: %d %v", id, code, b)
		}
	}
	// An Idempotency-Key stands for one request: reused on another recognition it is
	// refused, never answered with the first recognition's delivery.
	resp, b := raw(t, "POST", deliveries, `{"channel":"push"}`, "Authorization", "Bearer "+f.key, "Idempotency-Key", "ack-1")
	if resp.StatusCode != 200 {
		t.Fatalf("acknowledge with a key: %d %s", resp.StatusCode, b)
	}
	resp, b = raw(t, "POST", f.url+"/v1/recognitions/999999/deliveries", `{"channel":"push"}`, "Authorization", "Bearer "+f.key, "Idempotency-Key", "ack-1")
	if resp.StatusCode != 422 || !strings.Contains(b, "idempotency_key_reused") {
		t.Fatalf("the key reused on another recognition: %d %s", resp.StatusCode, b)
	}
	// An event dated next year is refused, not celebrated.
	if code, b := call(t, f.key, "POST", f.url+"/v1/events:batch", fmt.Sprintf(`{"id":"future-1","member_id":%q,"type":"workshop_attended","at":%q}`,
		member, time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339))); code != 422 || !strings.Contains(fmt.Sprint(b), "future") {
		t.Fatalf("an event next year: %d %v", code, b)
	}
	// Delivered: the next moment does not celebrate the same thing again...
	_, again := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/moment?channel=push", "")
	if again["next_action"].(map[string]any)["action"] == "celebrate" {
		t.Fatalf("celebrated twice: %v", again)
	}
	// With nothing to celebrate, an approved challenge for their community is shown.
	comm := again["community"].(map[string]any)["id"].(string)
	ch := requestDraft(t, f, f.key, `{"kind":"challenge","community_id":"`+comm+`","locale":"sv"}`)
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/approve", ""); code != 200 {
		t.Fatalf("approve challenge: %d %v", code, b)
	}
	if _, mo := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/moment", ""); mo["content"] == nil ||
		mo["content"].(map[string]any)["kind"] != "challenge" || mo["content"].(map[string]any)["locale"] != "sv" {
		t.Fatalf("moment without a due recognition: %v", mo)
	}
	// ...and the list says when and where it went.
	_, rec = call(t, f.key, "GET", f.url+"/v1/members/"+member+"/recognitions", "")
	delivered := 0
	for _, r := range rec["recognitions"].([]any) {
		if r.(map[string]any)["channel"] == "push" && r.(map[string]any)["delivered_at"] != nil {
			delivered++
		}
	}
	if delivered != 1 {
		t.Fatalf("delivered %d, want 1: %v", delivered, rec)
	}

	// The anniversary arrives with the member's calendar: tomorrow, Stockholm time, the
	// hourly anniversaries job records it and queues its recognition.
	tomorrowAt := time.Now().In(mustLoc(t, "Europe/Stockholm")).AddDate(0, 0, 1)
	later := &service.Service{DB: f.svc.DB, Queue: f.svc.Queue, Now: func() time.Time { return tomorrowAt }}
	if n, err := later.DetectAnniversaries(t.Context()); err != nil || n < 1 {
		t.Fatalf("anniversaries: %d queued, %v; want Ana's among them", n, err)
	}
	f.settle(t)
	// The member's own clock, an hour from now in Stockholm, is a fine local_time.
	inAnHour := time.Now().In(mustLoc(t, "Europe/Stockholm")).Add(time.Hour).Format(time.RFC3339)
	_, mo = call(t, f.key, "GET", f.url+"/v1/members/"+member+"/moment?local_time="+strings.ReplaceAll(inAnHour, "+", "%2B"), "")
	if mo["next_action"].(map[string]any)["action"] != "celebrate" || !strings.Contains(fmt.Sprint(mo["recognition"]), "anniversary") {
		t.Fatalf("anniversary moment: %v", mo)
	}
	// A local_time days away is not the member's clock: refused, so no key can read a
	// moment of another date.
	nextWeek := time.Now().AddDate(0, 0, 7).UTC().Format(time.RFC3339)
	if code, b := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/moment?local_time="+nextWeek, ""); code != 400 || errCode(b) != "invalid_local_time" {
		t.Fatalf("local_time next week: %d %v", code, b)
	}
	if code, b := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/moment?local_time=yesterday", ""); code != 400 || errCode(b) != "invalid_local_time" {
		t.Fatalf("bad local_time: %d %v", code, b)
	}
	// Without consent: no action, no content.
	var refused string
	for _, m := range f.brand.Members {
		if !m.Consent.Personalization {
			refused = m.ID
			break
		}
	}
	if _, mo := call(t, f.key, "GET", f.url+"/v1/members/"+refused+"/moment", ""); mo["next_action"].(map[string]any)["action"] != "none" || mo["content"] != nil {
		t.Fatalf("no-consent moment: %v", mo)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
