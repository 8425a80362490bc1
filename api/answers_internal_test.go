package api

import (
	"fmt"
	"testing"
	"time"
)

// An answer read before a change lands is never served, even if it is stored after
// the change; answers wait out unrelated changes; a reset voids everything and, while
// down, nothing is cached; answers expire.
func TestAnswerTickets(t *testing.T) {
	a := newAnswers(10, time.Minute)
	read := a.ticket()
	a.Changed([]string{"m:1"}) // a write commits while the answer is being read
	a.put("k", read, answer{deps: []string{"m:1"}, body: []byte("stale")})
	if _, ok := a.get("k"); ok {
		t.Fatal("an answer read before a change was served")
	}
	a.put("k", a.ticket(), answer{deps: []string{"m:1", "m:2"}, body: []byte("fresh")})
	a.Changed([]string{"m:3"})
	if v, ok := a.get("k"); !ok || string(v.body) != "fresh" {
		t.Fatalf("an unrelated change voided the answer: %q %v", v.body, ok)
	}
	a.Changed([]string{"m:2"}) // a peer changed
	if _, ok := a.get("k"); ok {
		t.Fatal("an answer survived the change of one it depends on")
	}
	a.put("k", a.ticket(), answer{deps: []string{"m:1"}})
	a.Reset(false)
	if _, ok := a.get("k"); ok || a.ticket() != 0 {
		t.Fatal("a reset left answers, or caching stayed on while changes may be missed")
	}
	a.Reset(true)
	if a.ticket() == 0 {
		t.Fatal("caching did not come back")
	}
	if newAnswers(0, time.Minute) != nil || newAnswers(10, -1) != nil {
		t.Fatal("a zero size or negative TTL should turn the cache off")
	}
	var off *answers
	if off.ticket() != 0 {
		t.Fatal("no cache gave a ticket")
	}
	short := newAnswers(10, time.Millisecond)
	short.put("k", short.ticket(), answer{})
	time.Sleep(20 * time.Millisecond)
	if _, ok := short.get("k"); ok {
		t.Fatal("an expired answer was served")
	}
	// Changes older than the TTL are forgotten (they can void nothing that lives):
	// three rounds of 2,000 leave fewer than two rounds' worth.
	for round := range 3 {
		for i := range 2000 {
			short.Changed([]string{fmt.Sprint("m:", round, ":", i)})
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(short.changed); n >= 4000 {
		t.Fatalf("%d of 6,000 changes remembered long after the TTL", n)
	}
}
