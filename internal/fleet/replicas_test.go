package fleet

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// metric is the value of the first sample on /metrics whose line starts with prefix
// (a name and labels), or -1 when there is none.
func metric(t *testing.T, node *proc, key, prefix string) float64 {
	t.Helper()
	_, _, body := call(t, "GET", node.addr+"/metrics", key, "")
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, err := strconv.ParseFloat(f[len(f)-1], 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// An API node with a hot standby in DATABASE_READ_URL answers the real-time reads
// from it, measures and exports its lag, never answers from it with less than it
// knows (a write it made is read back at once although the standby applies it a
// second later), and keeps answering when the standby goes away mid-test.
func TestReadReplicas(t *testing.T) {
	primary, standby := primaryAndStandby(t, "belong", time.Second)
	env := []string{"DATABASE_URL=" + primary.url("belong"), "BELONG_NIGHTLY_SCHEDULE=off"}
	belong(t, env, "", "migrate")
	belong(t, env, "", "demo", "-members", "300")
	belong(t, env, "", "embed")
	belong(t, env, "", "cluster", "-target-size", "25", "-min-size", "8", "-max-size", "60")
	key := newKey(t, env, "journeys")
	// No answer cache: every read is a database read, so each shows where it went.
	node := start(t, "node", append(env, "DATABASE_READ_URL="+standby.url("belong"), "BELONG_ADDR=127.0.0.1:0",
		"BELONG_ANSWER_CACHE_TTL=0", "BELONG_RATE_LIMIT=0"), "serve", "-workers=false")
	serving := `belong_db_replica_serving{replica="1 (127.0.0.1:` + strconv.Itoa(standby.port) + `)"}`
	lag := `belong_db_replica_lag_seconds{replica="1 (127.0.0.1:` + strconv.Itoa(standby.port) + `)"}`
	waitFor(t, 20*time.Second, "the standby to serve", func() bool {
		time.Sleep(200 * time.Millisecond)
		return metric(t, node, key, serving) == 1
	})
	time.Sleep(2 * time.Second) // the standby applies the loading above a second late
	// With nothing written the standby is caught up (its apply delay holds back only
	// what it has yet to apply).
	if l := metric(t, node, key, lag); l < 0 || l > 0.6 {
		t.Errorf("measured lag %.2f s on an idle primary", l)
	}

	paths := func(i int) []string {
		id := fmt.Sprintf("m-%05d", i)
		return []string{"/v1/members/" + id + "/communities", "/v1/members/" + id + "/peers?limit=3",
			"/v1/members/" + id + "/moment?channel=app&local_time=2026-12-08T12:00:00Z", "/v1/communities/c-1"}
	}
	// A run is served from a replica once the replica has caught up with the moment
	// the node first served it (within a sample, 250 ms).
	call(t, "GET", node.addr+paths(1)[0], key, "")
	time.Sleep(600 * time.Millisecond)
	for i := 1; i <= 20; i++ {
		for _, p := range paths(i) {
			if status, _, body := call(t, "GET", node.addr+p, key, ""); status != http.StatusOK {
				t.Fatalf("%s: %d %s", p, status, body)
			}
		}
	}
	if n := metric(t, node, key, `belong_db_reads_total{source="replica"}`); n < 60 {
		t.Fatalf("%v of 80 reads went to the standby", n)
	}
	if status, _, body := call(t, "GET", node.addr+"/v1/exports/members?limit=5", key, ""); status != http.StatusOK || strings.Count(body, "\n") != 5 {
		t.Fatalf("export from the standby: %d %q", status, body)
	}

	// Read your writes: each member's consent is withdrawn through the node and read
	// back at once; the standby has not applied it yet, so the node must not ask it.
	before := metric(t, node, key, `belong_db_reads_total{source="primary"}`)
	for i := 30; i < 40; i++ {
		id := fmt.Sprintf("m-%05d", i)
		line := `{"id":"` + id + `","name":"Withdrawn","consent":{"personalization":false}}` + "\n"
		if status, _, body := call(t, "POST", node.addr+"/v1/members:batch", key, line); status != http.StatusOK {
			t.Fatalf("withdraw %s: %d %s", id, status, body)
		}
		for _, p := range paths(i)[:3] {
			if _, _, body := call(t, "GET", node.addr+p, key, ""); !strings.Contains(body, "no_consent") && !strings.Contains(body, `"peers":[]`) {
				t.Fatalf("%s right after the withdrawal: %s", p, body)
			}
		}
	}
	if after := metric(t, node, key, `belong_db_reads_total{source="primary"}`); after-before < 30 {
		t.Errorf("only %v of the 30 reads after writes went to the primary", after-before)
	}
	// While writes wait to be applied, the node measures the standby's delay: the
	// first one was written a little under a second ago and is not applied yet.
	time.Sleep(600 * time.Millisecond)
	if l := metric(t, node, key, lag); l < 0.5 || l > 2 {
		t.Errorf("measured lag %.2f s after writes, want about 1 s (recovery_min_apply_delay)", l)
	}
	// Once the standby has applied them, it serves those members again.
	time.Sleep(2 * time.Second)
	replicaBefore := metric(t, node, key, `belong_db_reads_total{source="replica"}`)
	if _, _, body := call(t, "GET", node.addr+paths(31)[0], key, ""); !strings.Contains(body, "no_consent") {
		t.Fatalf("from the standby later: %s", body)
	}
	if metric(t, node, key, `belong_db_reads_total{source="replica"}`) != replicaBefore+1 {
		t.Error("the standby did not serve a member whose change it had applied")
	}

	// The standby goes away while reads run: every read is still answered.
	var wg sync.WaitGroup
	failures := make(chan string, 1000)
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := paths(1 + (w*50+i)%25)[i%4]
				req, _ := http.NewRequest("GET", node.addr+p, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					failures <- err.Error()
					continue
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failures <- p + ": " + res.Status
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	standby.stop()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("a read failed while the standby went away: %s", f)
	}
	if v := metric(t, node, key, serving); v != 0 {
		t.Errorf("%s = %v after the standby stopped", serving, v)
	}
	if !strings.Contains(node.out.String(), "read replica skipped") {
		t.Error("the node did not log that it skipped the standby")
	}
}
