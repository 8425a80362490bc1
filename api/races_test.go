package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// post sends n requests at once and returns their statuses and bodies.
func postAll(t *testing.T, key, url string, bodies []string, headers ...string) ([]int, []string) {
	t.Helper()
	codes, outs := make([]int, len(bodies)), make([]string, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", url, strings.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+key)
			for j := 0; j+1 < len(headers); j += 2 {
				req.Header.Set(headers[j], headers[j+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes[i] = -1
				return
			}
			defer resp.Body.Close()
			var sb strings.Builder
			_, _ = fmt.Fprint(&sb, resp.Header.Get("Idempotent-Replayed"), " ")
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			sb.Write(buf[:n])
			codes[i], outs[i] = resp.StatusCode, sb.String()
		}()
	}
	wg.Wait()
	return codes, outs
}

func TestParallelRequestsWithOneIdempotencyKeyRunOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	batch := func(i int) string {
		return fmt.Sprintf(`{"id":"m-%d","name":"Ana"}`+"\n"+`{"id":"m-%d-b","name":"Bo"}`, i, i)
	}
	// Ten copies of one request: it is applied once; the others are told it is in
	// progress or get its answer back.
	same := make([]string, 10)
	for i := range same {
		same[i] = batch(1)
	}
	codes, outs := postAll(t, f.key, f.url+"/v1/members:batch", same, "Idempotency-Key", "same-1")
	applied := 0
	for i, c := range codes {
		switch {
		case c == 200 && strings.Contains(outs[i], `"inserted":2`) && !strings.HasPrefix(outs[i], "true"):
			applied++
		case c == 200 && strings.HasPrefix(outs[i], "true"), c == 409 && strings.Contains(outs[i], "idempotency_key_in_use"):
		default:
			t.Errorf("request %d: %d %s", i, c, outs[i])
		}
	}
	if applied != 1 {
		t.Fatalf("%d of 10 identical requests were applied, want 1: %v", applied, codes)
	}
	// Ten different requests with one key: one is applied, the rest are refused.
	diff := make([]string, 10)
	for i := range diff {
		diff[i] = batch(100 + i)
	}
	codes, outs = postAll(t, f.key, f.url+"/v1/members:batch", diff, "Idempotency-Key", "reused-1")
	if n := countOf(codes, 200); n != 1 {
		t.Fatalf("%d of 10 different requests with one key were applied, want 1: %v %v", n, codes, outs)
	}
	for i, c := range codes {
		if c != 200 && c != 409 && c != 422 {
			t.Errorf("request %d: %d %s", i, c, outs[i])
		}
	}
	if n := countRows(t, f.pool, "members"); n != 4 {
		t.Fatalf("%d members stored, want 4 (two batches of two)", n)
	}
}

func TestBatchesWithTheSameIdsInOppositeOrdersNeverDeadlock(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	var up, down []string
	for i := range 200 {
		up = append(up, fmt.Sprintf(`{"id":"m-%03d","name":"A","consent":{"personalization":true}}`, i))
	}
	down = slices.Clone(up)
	slices.Reverse(down)
	for round := range 5 {
		codes, outs := postAll(t, f.key, f.url+"/v1/members:batch", []string{strings.Join(up, "\n"), strings.Join(down, "\n")})
		for i, c := range codes {
			if c != 200 {
				t.Fatalf("round %d, batch %d: %d %s", round, i, c, outs[i])
			}
		}
	}
	now := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	var eup []string
	for i := range 200 {
		eup = append(eup, fmt.Sprintf(`{"id":"e-%03d","member_id":"m-%03d","type":"class_completed","at":%q}`, i, i, now))
	}
	edown := slices.Clone(eup)
	slices.Reverse(edown)
	codes, outs := postAll(t, f.key, f.url+"/v1/events:batch", []string{strings.Join(eup, "\n"), strings.Join(edown, "\n"),
		strings.Join(eup, "\n"), strings.Join(edown, "\n")})
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("events batch %d: %d %s", i, c, outs[i])
		}
	}
	// However the four batches interleaved, each milestone fired once and each member
	// has one recognition queued.
	if n := countRows(t, f.pool, "member_milestones"); n != 200 {
		t.Fatalf("%d milestones, want 200 (count:class_completed:1 each)", n)
	}
	if n := countRows(t, f.pool, "river_job WHERE kind = 'draft_recognition'"); n != 200 {
		t.Fatalf("%d recognition jobs, want 200", n)
	}
}

func countOf(xs []int, v int) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

// A client that hangs up in the middle of a batch does not leave its Idempotency-Key
// stuck: the retry with the same key and body goes through (or gets the answer, if
// the batch had committed).
func TestAnAbandonedBatchCanBeRetried(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	var ms, es strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&ms, `{"id":"m-%04d","name":"Member","consent":{"personalization":true}}`+"\n", i)
	}
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", ms.String()); code != 200 {
		t.Fatalf("members: %d %v", code, body)
	}
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for i := range 10_000 {
		fmt.Fprintf(&es, `{"id":"e-%05d","member_id":"m-%04d","type":"class_completed","at":%q}`+"\n", i, i%3000, at)
	}
	// Hang up after various delays, so that some cut the batch mid-way, whatever the
	// machine's speed; each key's retry must then go through.
	for _, delay := range []time.Duration{20, 60, 120, 200, 300, 450} {
		key := fmt.Sprintf("hang-up-%d", delay)
		ctx, cancel := context.WithTimeout(context.Background(), delay*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "POST", f.url+"/v1/events:batch", strings.NewReader(es.String()))
		req.Header.Set("Authorization", "Bearer "+f.key)
		req.Header.Set("Idempotency-Key", key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		cancel()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, body := postAll(t, f.key, f.url+"/v1/events:batch", []string{es.String()}, "Idempotency-Key", key)
			if code[0] == 200 {
				break
			}
			if code[0] != 409 || time.Now().After(deadline) {
				t.Fatalf("retry after hanging up at %v: %d %s", delay*time.Millisecond, code[0], body[0])
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if n := countRows(t, f.pool, "member_events"); n != 10_000 {
		t.Fatalf("%d events stored after the retry, want 10,000", n)
	}
}
