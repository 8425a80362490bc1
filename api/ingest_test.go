package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/moments"
)

// TestLargeEventBatchFiresEveryMilestone posts a legal batch of 10,000 events spread
// over 3,000 members and checks that it fires exactly the milestones the rules define
// for those histories (evaluated here by the pure rule engine), in one answer, with
// one recognition queued per consenting member.
func TestLargeEventBatchFiresEveryMilestone(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	const nMembers = 3000
	now := time.Now().UTC()
	var ms strings.Builder
	// Every tenth member has not consented: their milestones are recorded, but no
	// recognition is queued for them.
	for i := range nMembers {
		fmt.Fprintf(&ms, `{"id":"m-%04d","name":"Member %d","timezone":"UTC","consent":{"personalization":%t}}`+"\n", i, i, i%10 != 0)
	}
	if code, body := call(t, f.key, "POST", f.url+"/v1/members:batch", ms.String()); code != 200 {
		t.Fatalf("members: %d %v", code, body)
	}

	// 400 members active ten days running, 2,600 twice, 800 of those a third time:
	// 4,000 + 5,200 + 800 = 10,000 events.
	var es strings.Builder
	hist := map[string]*moments.History{}
	n := 0
	add := func(member int, typ string, at time.Time) {
		id := fmt.Sprintf("m-%04d", member)
		fmt.Fprintf(&es, `{"id":"e-%05d","member_id":%q,"type":%q,"at":%q}`+"\n", n, id, typ, at.Format(time.RFC3339))
		n++
		h := hist[id]
		if h == nil {
			h = &moments.History{Location: time.UTC, Counts: map[string]int{}}
			hist[id] = h
		}
		h.Counts[typ]++
		h.Days = append(h.Days, time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC))
	}
	for i := range nMembers {
		switch {
		case i < 400:
			for d := range 10 {
				add(i, "class_completed", now.Add(-time.Duration(d)*24*time.Hour-time.Minute))
			}
		default:
			add(i, "class_completed", now.Add(-time.Hour))
			add(i, "workshop_attended", now.Add(-26*time.Hour))
			if i < 1200 {
				add(i, "class_completed", now.Add(-3*time.Hour))
			}
		}
	}
	if n != 10_000 {
		t.Fatalf("constructed %d events, want 10,000", n)
	}
	want := 0
	for _, h := range hist {
		h.Latest = now
		want += len(moments.DefaultRules.Evaluate(*h))
	}

	start := time.Now()
	code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", es.String())
	took := time.Since(start)
	if code != 200 {
		t.Fatalf("events: %d %v", code, body)
	}
	t.Logf("10,000 events for 3,000 members answered in %v: %v", took, body)
	if body["inserted"] != 10_000.0 || body["milestones"] != float64(want) || body["recognitions_queued"] != float64(nMembers*9/10) {
		t.Fatalf("answer %v; want 10,000 inserted, %d milestones, %d recognitions queued", body, want, nMembers*9/10)
	}
	if got := countRows(t, f.pool, "member_milestones"); got != want {
		t.Fatalf("%d milestones recorded, want %d", got, want)
	}
	// A replay fires and queues nothing.
	if code, body := call(t, f.key, "POST", f.url+"/v1/events:batch", es.String()); code != 200 ||
		body["duplicates"] != 10_000.0 || body["milestones"] != 0.0 || body["recognitions_queued"] != 0.0 {
		t.Fatalf("replay: %d %v", code, body)
	}
}
