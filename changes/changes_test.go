package changes_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// A listener trusts what it hears once its own probe comes back, hears what is
// published, and reports itself down when its probes stop arriving.
func TestListenerProbes(t *testing.T) {
	url := dbtest.URL(t)
	pool := dbtest.Schema(t)
	ups := make(chan bool, 16)
	got := make(chan []string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	l := &changes.Listener{URL: url, DB: pool, Apply: func(k []string) { got <- k }, Reset: func(up bool) { ups <- up },
		Logger: slog.New(slog.DiscardHandler), ProbeEvery: 100 * time.Millisecond, ProbeTimeout: time.Second}
	go func() { l.Run(ctx); close(done) }()
	select {
	case up := <-ups:
		if !up {
			t.Fatal("the listener reported down before it came up")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the listener never heard its own probe")
	}
	if err := changes.Publish(ctx, pool, []string{changes.Member("m-1"), changes.Content}); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-got:
		if len(k) != 2 || k[0] != "m:m-1" || k[1] != changes.Content {
			t.Fatalf("heard %q", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a published change was not heard")
	}
	cancel()
	<-done
}
