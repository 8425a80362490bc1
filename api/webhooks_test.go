package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/belong-loyalty/belong/service"
	"github.com/belong-loyalty/belong/webhooks"
)

// receiver is a webhook receiver as a brand would write one: it verifies every
// request with the Standard Webhooks reference library, answers 503 while down, and
// keeps what it accepted, in arrival order.
type receiver struct {
	srv     *httptest.Server
	down    atomic.Bool
	status  atomic.Int32 // answered instead of 200 when not 0
	mu      sync.Mutex
	verify  []*standardwebhooks.Webhook
	got     []webhooks.Message
	raw     []captured
	refused int
}

type captured struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if s := r.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		ok := len(r.verify) > 0
		for _, v := range r.verify {
			if err := v.Verify(body, req.Header); err != nil {
				ok = false
			}
		}
		if !ok {
			r.refused++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m webhooks.Message
		if err := json.Unmarshal(body, &m); err != nil || m.ID != req.Header.Get("webhook-id") {
			r.refused++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.got = append(r.got, m)
		r.raw = append(r.raw, captured{req.Header.Clone(), body})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// trust makes the receiver verify with each of the secrets (every one must pass).
func (r *receiver) trust(t *testing.T, secrets ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verify = nil
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		r.verify = append(r.verify, wh)
	}
}

func (r *receiver) messages() []webhooks.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor polls until cond holds, for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pendingDeliveries(t *testing.T, f fixture) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Every kind of change reaches a subscribed receiver once, signed so that the
// Standard Webhooks library verifies it; a receiver that is down gets everything
// once it is back, each member's events in the order they happened; a tampered body
// fails verification; replays resend the same event ids; a rotated secret keeps the
// old one signing meanwhile.
func TestWebhooksDeliverEveryEventSignedAndInOrder(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	f.svc.Webhooks.Backoff = func(int) time.Duration { return 300 * time.Millisecond }
	start := time.Now()
	rcv := newReceiver(t)

	// Registering: admin only, checked, the secret shown once.
	all, _ := json.Marshal(webhooks.Types)
	body := fmt.Sprintf(`{"url":%q,"description":"journey platform","event_types":%s}`, rcv.srv.URL, all)
	if code, b := call(t, newKey(t, f.pool, "match:read"), "POST", f.url+"/v1/webhook-endpoints", body); code != 403 {
		t.Fatalf("a read key registers an endpoint: %d %v", code, b)
	}
	for bad, msg := range map[string]string{
		`{"url":"ftp://example.com","event_types":["recognition.due"]}`:           "ftp url",
		`{"url":"https://user:pw@example.com","event_types":["recognition.due"]}`: "credentials in the url",
		`{"url":"https://example.com","event_types":["recognition.overdue"]}`:     "unknown type",
		`{"url":"https://example.com","event_types":[]}`:                          "no types",
		`{"url":"http://127.0.0.1:99999/x","event_types":["recognition.due"]}`:    "no such port",
		`{"url":"https://example.com/a b","event_types":["recognition.due"]}`:     "a space",
	} {
		if code, b := call(t, f.key, "POST", f.url+"/v1/webhook-endpoints", bad); code != 400 || errCode(b) != "invalid_endpoint" {
			t.Fatalf("%s: %d %v", msg, code, b)
		}
	}
	code, ep := call(t, f.key, "POST", f.url+"/v1/webhook-endpoints", body)
	secret, _ := ep["secret"].(string)
	if code != 201 || !strings.HasPrefix(secret, "whsec_") || ep["enabled"] != true {
		t.Fatalf("register: %d %v", code, ep)
	}
	epURL := f.url + "/v1/webhook-endpoints/" + ep["id"].(string)
	if _, got := call(t, f.key, "GET", epURL, ""); got["secret"] != nil || got["url"] != rcv.srv.URL {
		t.Fatalf("an endpoint read back: %v (the secret is shown once)", got)
	}
	if code, b := call(t, f.key, "GET", f.url+"/v1/webhook-endpoints/999999", ""); code != 404 || errCode(b) != "endpoint_not_found" {
		t.Fatalf("unknown endpoint: %d %v", code, b)
	}
	rcv.trust(t, secret)
	rcv.down.Store(true)

	// Changes while the receiver is down. A member reaches milestones; their
	// recognition is drafted, approved by the reviewed templates and announced.
	member := ""
	for _, m := range f.brand.Members {
		if m.Consent.Personalization {
			member = m.ID
			break
		}
	}
	var batch strings.Builder
	for i := range 10 {
		fmt.Fprintf(&batch, `{"id":"wh-%d","member_id":%q,"type":"workshop_attended","at":%q}`+"\n", i, member,
			time.Now().Add(-time.Duration(i)*time.Hour).UTC().Format(time.RFC3339))
	}
	code, ev := call(t, f.key, "POST", f.url+"/v1/events:batch", batch.String())
	if code != 200 || ev["milestones"].(float64) < 2 {
		t.Fatalf("events: %d %v", code, ev)
	}
	f.settle(t)
	// A reviewer approves a challenge, then withdraws it.
	comm := f.brand.Members[0].ID
	_, mc := call(t, f.key, "GET", f.url+"/v1/members/"+comm+"/communities", "")
	commID := mc["communities"].([]any)[0].(map[string]any)["id"].(string)
	ch := requestDraft(t, f, f.key, `{"kind":"challenge","community_id":"`+commID+`","locale":"en"}`)
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/approve", ""); code != 200 {
		t.Fatalf("approve: %d %v", code, b)
	}
	// A challenge launched from it: the member joins, passes half way, completes it.
	_, own := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/communities", "")
	ownID := own["communities"].([]any)[0].(map[string]any)["id"].(string)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	code, lc := call(t, f.key, "POST", f.url+"/v1/challenges", fmt.Sprintf(`{"content_id":%q,"target":{"kind":"community","id":%q},`+
		`"kind":"individual","goal":{"type":"count","event":"class_completed","target":2},"starts_on":%q,"ends_on":%q}`,
		ch["id"], ownID, yesterday, time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)))
	if code != 201 {
		t.Fatalf("launch a challenge: %d %v", code, lc)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/challenges/"+lc["id"].(string)+"/participants", `{"member_id":"`+member+`"}`); code != 201 {
		t.Fatalf("join: %d %v", code, b)
	}
	for i := range 2 {
		ev := fmt.Sprintf(`{"id":"wh-ch-%d","member_id":%q,"type":"class_completed","at":%q}`, i, member,
			time.Now().Add(-time.Duration(i+1)*time.Minute).UTC().Format(time.RFC3339))
		if code, b := call(t, f.key, "POST", f.url+"/v1/events:batch", ev); code != 200 {
			t.Fatalf("challenge events: %d %v", code, b)
		}
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/withdraw",
		`{"reason":"`+strings.Repeat("x", 2001)+`"}`); code != 400 || errCode(b) != "invalid_reason" {
		t.Fatalf("withdraw with a 2,001-byte reason: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/withdraw", `{}`); code != 400 || errCode(b) != "reason_required" {
		t.Fatalf("withdraw without a reason: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/withdraw", `{"reason":"the date moved"}`); code != 200 || b["status"] != "withdrawn" {
		t.Fatalf("withdraw: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/withdraw", `{"reason":"again"}`); code != 409 || errCode(b) != "draft_not_approved" {
		t.Fatalf("withdraw twice: %d %v", code, b)
	}
	// The members of one community are erased and a new interest group joins: the
	// next run retires the one community and places the newcomers.
	ctx := t.Context()
	rows, err := f.pool.Query(ctx, `SELECT member_id FROM memberships WHERE rank = 1 AND run_id = (SELECT run_id FROM current_run)
		AND community_id = (SELECT community_id FROM memberships WHERE rank = 1 AND run_id = (SELECT run_id FROM current_run)
			GROUP BY 1 HAVING bool_and(member_id <> $1) ORDER BY count(*), 1 LIMIT 1)`, member)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(gone) == 0 {
		t.Fatalf("a community's members: %v %v", gone, err)
	}
	for _, id := range gone {
		if resp, b := raw(t, "DELETE", f.url+"/v1/members/"+id, "", "Authorization", "Bearer "+f.key); resp.StatusCode != 204 {
			t.Fatalf("erase %s: %d %s", id, resp.StatusCode, b)
		}
	}
	var newcomers strings.Builder
	for i := range 30 {
		fmt.Fprintf(&newcomers, `{"id":"chess-%d","name":"Player %d","interests":["competitive chess","chess openings","go strategy"],"causes":["youth chess"],"consent":{"personalization":true,"community":true}}`+"\n", i, i)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/members:batch", newcomers.String()); code != 200 {
		t.Fatalf("newcomers: %d %v", code, b)
	}
	if _, err := f.svc.Embed(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Cluster(ctx, service.ClusterParams{TargetSize: 40, Seed: 1}, false, nil); err != nil {
		t.Fatal(err)
	}
	f.settle(t)
	waitFor(t, "failed attempts", func() bool {
		// The newest may wait behind its member's earlier events; some have failed.
		_, d := call(t, f.key, "GET", epURL+"/deliveries?status=pending&limit=200", "")
		ds, _ := d["deliveries"].([]any)
		return slices.ContainsFunc(ds, func(d any) bool { return d.(map[string]any)["last_status"] == 503.0 })
	})

	// Back up: everything arrives.
	rcv.down.Store(false)
	waitFor(t, "every delivery", func() bool { return pendingDeliveries(t, f) == 0 })
	got := rcv.messages()
	var events int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM outbox_events").Scan(&events); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	byType := map[string]int{}
	lastOf := map[string]int64{} // member → last event number received
	for _, m := range got {
		seen[m.ID]++
		byType[m.Type]++
		var d struct {
			MemberID string `json:"member_id"`
		}
		if err := json.Unmarshal(m.Data, &d); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseInt(strings.TrimPrefix(m.ID, "evt_"), 10, 64)
		if d.MemberID != "" {
			if n < lastOf[d.MemberID] {
				t.Fatalf("member %s: event %s arrived after event %d", d.MemberID, m.ID, lastOf[d.MemberID])
			}
			lastOf[d.MemberID] = n
		}
	}
	if len(seen) != events || len(got) != events {
		t.Fatalf("received %d messages, %d distinct, of %d events", len(got), len(seen), events)
	}
	for _, typ := range webhooks.Types {
		if byType[typ] == 0 {
			t.Errorf("no %s received: %v", typ, byType)
		}
	}
	var moved int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM memberships n
		LEFT JOIN memberships o ON o.run_id = n.run_id - 1 AND o.member_id = n.member_id AND o.rank = 1
		WHERE n.run_id = (SELECT run_id FROM current_run) AND n.rank = 1 AND o.community_id IS DISTINCT FROM n.community_id`).Scan(&moved); err != nil {
		t.Fatal(err)
	}
	if moved < 30 || byType[webhooks.MembershipChanged] != moved {
		t.Fatalf("membership.changed: %d received, %d members moved or were first placed (30 newcomers)", byType[webhooks.MembershipChanged], moved)
	}
	// The recognition that was due is announced with its message.
	for _, m := range got {
		if m.Type == webhooks.RecognitionDue {
			var d service.RecognitionDueData
			if err := json.Unmarshal(m.Data, &d); err != nil || d.MemberID != member || d.Recognition.ID == 0 || d.Content.Body["message"] == nil {
				t.Fatalf("recognition.due: %s (%v)", m.Data, err)
			}
		}
	}

	// A tampered body fails verification; the untouched request passes.
	rcv.mu.Lock()
	orig := rcv.raw[0]
	rcv.mu.Unlock()
	send := func(b []byte) int {
		req, _ := http.NewRequest("POST", rcv.srv.URL, bytes.NewReader(b))
		req.Header = orig.header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(bytes.Replace(orig.body, []byte(`"type":"`), []byte(`"type":"x`), 1)); code != 401 {
		t.Fatalf("a tampered body: %d, want refused", code)
	}
	if code := send(orig.body); code != 204 {
		t.Fatalf("the signed body: %d", code)
	}

	// Rotation: the old secret signs alongside the new one meanwhile, so a receiver
	// on either verifies.
	code, rot := call(t, f.key, "POST", epURL+"/rotate-secret", `{"keep_previous":"1h"}`)
	newSecret, _ := rot["secret"].(string)
	if code != 200 || newSecret == secret || rot["previous_secret_expires_at"] == nil {
		t.Fatalf("rotate: %d %v", code, rot)
	}
	rcv.trust(t, secret, newSecret) // each must verify the same request
	before := len(rcv.messages())
	code, rp := call(t, f.key, "POST", epURL+"/replay", fmt.Sprintf(`{"from":%q}`, start.Add(-time.Minute).UTC().Format(time.RFC3339)))
	if code != 202 || rp["scheduled"] != float64(events) {
		t.Fatalf("replay: %d %v, want %d scheduled", code, rp, events)
	}
	waitFor(t, "the replay", func() bool { return len(rcv.messages()) == before+events })
	again := map[string]bool{}
	for _, m := range rcv.messages()[before:] {
		again[m.ID] = true
	}
	for id := range seen {
		if !again[id] {
			t.Fatalf("replay lacks %s", id)
		}
	}
	if code, b := call(t, f.key, "POST", epURL+"/replay", `{"from":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"}`); code != 400 || errCode(b) != "invalid_range" {
		t.Fatalf("backwards replay: %d %v", code, b)
	}
	rcv.mu.Lock()
	refused := rcv.refused
	rcv.mu.Unlock()
	if refused != 1 {
		t.Fatalf("the receiver refused %d requests, want only the tampered one", refused)
	}
}

// An endpoint that answers 410 Gone is disabled at once, with the reason; one that
// nothing reaches for the whole retry horizon is disabled when its delivery is given
// up. Enabling it again sends what waited.
func TestWebhookEndpointsThatKeepFailingAreDisabled(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	f.svc.Webhooks.Backoff = func(int) time.Duration { return 20 * time.Millisecond }
	f.svc.Webhooks.MaxAge = 500 * time.Millisecond
	gone, broken := newReceiver(t), newReceiver(t)
	gone.status.Store(http.StatusGone)
	broken.status.Store(http.StatusInternalServerError)
	register := func(r *receiver) string {
		code, ep := call(t, f.key, "POST", f.url+"/v1/webhook-endpoints", fmt.Sprintf(`{"url":%q,"event_types":["milestone.reached"]}`, r.srv.URL))
		if code != 201 {
			t.Fatalf("register: %d %v", code, ep)
		}
		r.trust(t, ep["secret"].(string))
		return f.url + "/v1/webhook-endpoints/" + ep["id"].(string)
	}
	goneURL, brokenURL := register(gone), register(broken)
	time.Sleep(600 * time.Millisecond) // older than the horizon: a day in production
	if code, b := call(t, f.key, "POST", f.url+"/v1/members:batch", `{"id":"m-1","name":"Ana","timezone":"UTC","consent":{"personalization":true}}`); code != 200 {
		t.Fatalf("member: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/events:batch", fmt.Sprintf(`{"id":"e-1","member_id":"m-1","type":"class_completed","at":%q}`,
		time.Now().UTC().Format(time.RFC3339))); code != 200 || b["milestones"] != 1.0 {
		t.Fatalf("event: %d %v", code, b)
	}
	// A member without personalization consent: their milestones never leave Belong.
	if code, b := call(t, f.key, "POST", f.url+"/v1/members:batch", `{"id":"m-2","name":"Bo","timezone":"UTC"}`); code != 200 {
		t.Fatalf("member: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/events:batch", fmt.Sprintf(`{"id":"e-2","member_id":"m-2","type":"class_completed","at":%q}`,
		time.Now().UTC().Format(time.RFC3339))); code != 200 || b["milestones"] != 1.0 {
		t.Fatalf("event: %d %v", code, b)
	}
	if n := countRows(t, f.pool, "outbox_events"); n != 1 {
		t.Fatalf("%d events written, want only the consenting member's", n)
	}
	for u, want := range map[string]string{goneURL: "410 Gone", brokenURL: "nothing was delivered"} {
		waitFor(t, want, func() bool {
			_, ep := call(t, f.key, "GET", u, "")
			return ep["enabled"] == false && strings.Contains(fmt.Sprint(ep["disabled_reason"]), want)
		})
	}
	// Fixed and enabled again, a replay sends what was given up.
	broken.status.Store(0)
	if code, ep := call(t, f.key, "PATCH", brokenURL, `{"enabled":true}`); code != 200 || ep["enabled"] != true || ep["disabled_reason"] != nil {
		t.Fatalf("enable: %d %v", code, ep)
	}
	if code, b := call(t, f.key, "POST", brokenURL+"/replay", fmt.Sprintf(`{"from":%q}`, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))); code != 202 || b["scheduled"] != 1.0 {
		t.Fatalf("replay: %d %v", code, b)
	}
	waitFor(t, "the replayed milestone", func() bool { return len(broken.messages()) == 1 })
	if m := broken.messages()[0]; m.Type != webhooks.MilestoneReached {
		t.Fatalf("replayed %v", m)
	}
	if code, b := call(t, f.key, "PATCH", brokenURL, `{"event_types":["nope"]}`); code != 400 || errCode(b) != "invalid_endpoint" {
		t.Fatalf("patch with an unknown type: %d %v", code, b)
	}
	if code, _ := raw(t, "DELETE", goneURL, "", "Authorization", "Bearer "+f.key); code.StatusCode != 204 {
		t.Fatalf("delete: %d", code.StatusCode)
	}
	if code, b := call(t, f.key, "GET", goneURL, ""); code != 404 || errCode(b) != "endpoint_not_found" {
		t.Fatalf("deleted endpoint: %d %v", code, b)
	}
}
