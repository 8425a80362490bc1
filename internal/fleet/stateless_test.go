package fleet

import (
	"encoding/json"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two API nodes and a worker, all through one PgBouncer in transaction mode, answer
// as one service: the same answers, one rate limit per key, one revocation, one
// console session, each other's writes voiding their caches, Idempotency-Keys
// honoured across nodes, jobs queued by one node worked by the worker. A third node
// whose change notices also go through the pooler hears nothing, says so, and
// caches nothing rather than serving stale answers.
func TestStatelessNodes(t *testing.T) {
	direct := freshDatabase(t)
	pooled := withHostPort(t, direct, pgBouncer(t, direct))
	pooled += "&application_name=belong-fleet" // a startup parameter PgBouncer tracks
	viaPooler := []string{"DATABASE_URL=" + pooled, "BELONG_POOLER=transaction", "BELONG_NIGHTLY_SCHEDULE=off"}

	// Everything but migrate runs through the pooler: the demo's COPY, embedding,
	// clustering under its advisory lock.
	belong(t, []string{"DATABASE_URL=" + direct}, "", "migrate")
	belong(t, viaPooler, "", "demo", "-members", "400")
	belong(t, viaPooler, "", "embed")
	if out := belong(t, viaPooler, "", "cluster", "-target-size", "25", "-min-size", "8", "-max-size", "60"); !strings.Contains(out, "published") {
		t.Fatalf("cluster through the pooler: %s", out)
	}
	key := newKey(t, viaPooler, "journeys")
	prefix := strings.SplitN(key, "_", 3)[1]
	belong(t, viaPooler, "correct horse battery staple\n", "users", "create", "--email", "ana@brand.example", "--name", "Ana", "--role", "admin", "--password-stdin")

	node := append(append([]string{}, viaPooler...), "BELONG_LISTEN_URL="+direct, "BELONG_RATE_LIMIT=5") // bursts of 10
	a := start(t, "node a", append(node, "BELONG_ADDR=127.0.0.1:0"), "serve", "-workers=false")
	b := start(t, "node b", append(node, "BELONG_ADDR=127.0.0.1:0"), "serve", "-workers=false")
	start(t, "worker", viaPooler, "worker")
	nodes := []*proc{a, b}

	t.Run("same answers", func(t *testing.T) {
		for _, path := range []string{"/v1/members/m-00001/communities", "/v1/communities?limit=5", "/v1/members/m-00002/moment?channel=app&local_time=2026-12-08T12:00:00Z"} {
			_, _, fromA := call(t, "GET", a.addr+path, key, "")
			_, _, fromB := call(t, "GET", b.addr+path, key, "")
			if fromA != fromB || !strings.Contains(fromA, `"member_id"`) && !strings.Contains(fromA, `"communities"`) {
				t.Errorf("%s: node a said %s\nnode b said %s", path, fromA, fromB)
			}
			time.Sleep(400 * time.Millisecond) // keep within the rate limit
		}
	})

	t.Run("one rate limit", func(t *testing.T) {
		time.Sleep(2 * time.Second) // the bucket is whole again on both
		// Node a spends the key's burst; node b, which has served the key before,
		// has it taken from its own bucket within a share interval (200 ms).
		// At once, so that refill during the burst stays negligible on a busy machine.
		var wg sync.WaitGroup
		var admittedN atomic.Int32
		for range 15 {
			wg.Go(func() { // not call: t.Fatal belongs to the test's goroutine
				req, _ := http.NewRequest("GET", a.addr+"/v1/communities?limit=1", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				if res, err := http.DefaultClient.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						admittedN.Add(1)
					}
				}
			})
		}
		wg.Wait()
		admitted := int(admittedN.Load())
		if admitted < 8 || admitted > 11 {
			t.Fatalf("node a admitted %d requests from a burst of 10", admitted)
		}
		time.Sleep(800 * time.Millisecond) // four share intervals; four tokens come back meanwhile
		status, h, _ := call(t, "GET", b.addr+"/v1/communities?limit=1", key, "")
		left, _ := strconv.Atoi(h.Get("RateLimit-Remaining"))
		if status == http.StatusOK && left > 5 {
			t.Fatalf("node b after node a spent the burst: %d with %d left (it would have 9 alone)", status, left)
		}
		time.Sleep(2500 * time.Millisecond)
	})

	t.Run("idempotency across nodes", func(t *testing.T) {
		body := `{"id":"m-fleet","name":"Fleet","interests":["padel"],"consent":{"personalization":true,"community":true}}` + "\n"
		s1, _, first := call(t, "POST", a.addr+"/v1/members:batch", key, body, "Idempotency-Key", "fleet-1")
		s2, h, second := call(t, "POST", b.addr+"/v1/members:batch", key, body, "Idempotency-Key", "fleet-1")
		if s1 != http.StatusOK || s2 != http.StatusOK || first != second || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("node a: %d %s; node b: %d %s (replayed %q)", s1, first, s2, second, h.Get("Idempotent-Replayed"))
		}
	})

	t.Run("writes void other nodes' caches", func(t *testing.T) {
		path := "/v1/members/m-00003/communities"
		if status, _, body := call(t, "GET", b.addr+path, key, ""); status != http.StatusOK || !strings.Contains(body, `"communities":[{`) {
			t.Fatalf("before: %d %s", status, body)
		}
		call(t, "GET", b.addr+path, key, "") // now cached on node b
		// Node a withdraws the member's consent; node b must stop answering with
		// communities (it hears the change on its direct listen connection).
		withdraw := `{"id":"m-00003","name":"Withdrawn","consent":{"personalization":false}}` + "\n"
		if status, _, body := call(t, "POST", a.addr+"/v1/members:batch", key, withdraw); status != http.StatusOK {
			t.Fatalf("withdraw on node a: %d %s", status, body)
		}
		waitFor(t, 3*time.Second, "node b to stop serving the withdrawn member's communities", func() bool {
			_, _, body := call(t, "GET", b.addr+path, key, "")
			time.Sleep(200 * time.Millisecond)
			return strings.Contains(body, "no_consent")
		})
	})

	t.Run("one console session", func(t *testing.T) {
		// Sign in on node a; node b serves the signed-in pages with the same cookie.
		res, err := http.Get(a.addr + "/console/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var login string
		for _, c := range res.Cookies() {
			if c.Name == "belong_login" {
				login = c.Value
			}
		}
		form := neturl.Values{"email": {"ana@brand.example"}, "password": {"correct horse battery staple"}, "csrf": {login}}
		req, _ := http.NewRequest("POST", a.addr+"/console/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "belong_login", Value: login})
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err = noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var session *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name != "belong_login" && c.Value != "" {
				session = c
			}
		}
		if res.StatusCode != http.StatusSeeOther || session == nil {
			t.Fatalf("sign in on node a: %d, cookies %v", res.StatusCode, res.Cookies())
		}
		req, _ = http.NewRequest("GET", b.addr+"/console/queue", nil)
		req.AddCookie(session)
		res, err = noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "Ana") {
			t.Fatalf("node b with node a's session: %d (Location %q)", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("jobs from a node, worked by the worker", func(t *testing.T) {
		at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		ev := `{"id":"e-fleet-1","member_id":"m-00004","type":"first_ride","at":"` + at + `"}` + "\n"
		status, _, body := call(t, "POST", b.addr+"/v1/events:batch", key, ev)
		if status != http.StatusOK || !strings.Contains(body, `"recognitions_queued":1`) {
			t.Fatalf("events on node b: %d %s", status, body)
		}
		waitFor(t, 20*time.Second, "the worker to draft the recognition", func() bool {
			_, _, body := call(t, "GET", a.addr+"/v1/members/m-00004/recognitions", key, "")
			time.Sleep(300 * time.Millisecond)
			var rs struct {
				Recognitions []struct {
					Key     string `json:"key"`
					DraftID string `json:"draft_id"`
				} `json:"recognitions"`
			}
			_ = json.Unmarshal([]byte(body), &rs)
			for _, r := range rs.Recognitions {
				if strings.HasPrefix(r.Key, "count:first_ride") && r.DraftID != "" {
					return true
				}
			}
			return false
		})
	})

	t.Run("revocation reaches every node", func(t *testing.T) {
		belong(t, viaPooler, "", "keys", "revoke", prefix)
		for _, n := range nodes {
			waitFor(t, 15*time.Second, n.name+" to refuse the revoked key", func() bool {
				status, _, _ := call(t, "GET", n.addr+"/v1/communities?limit=1", key, "")
				time.Sleep(250 * time.Millisecond)
				return status == http.StatusUnauthorized
			})
		}
	})

	t.Run("a node that hears nothing caches nothing", func(t *testing.T) {
		key := newKey(t, viaPooler, "deaf")
		deaf := start(t, "node c", append(viaPooler, "BELONG_ADDR=127.0.0.1:0", "BELONG_RATE_LIMIT=0"), "serve", "-workers=false")
		waitFor(t, 15*time.Second, "node c to say its listen connection hears nothing", func() bool {
			return strings.Contains(deaf.out.String(), "do not arrive on the listen connection")
		})
		path := "/v1/members/m-00005/communities"
		call(t, "GET", deaf.addr+path, key, "")
		call(t, "GET", deaf.addr+path, key, "")
		withdraw := `{"id":"m-00005","name":"Withdrawn","consent":{"personalization":false}}` + "\n"
		if status, _, body := call(t, "POST", a.addr+"/v1/members:batch", key, withdraw); status != http.StatusOK {
			t.Fatalf("withdraw on node a: %d %s", status, body)
		}
		if _, _, body := call(t, "GET", deaf.addr+path, key, ""); !strings.Contains(body, "no_consent") {
			t.Fatalf("node c served a stale answer after node a's write: %s", body)
		}
	})
}
