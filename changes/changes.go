// Package changes tells every Belong process which cached answers a write made
// stale. A write publishes keys (a member, or all content) with PostgreSQL's NOTIFY in
// its own transaction, so they are delivered exactly when it commits and never when
// it rolls back; each API process listens on a connection of its own and drops what
// the keys name. The writing process also applies them itself right after the commit
// (Service.Changed), so a client reads its own writes on the node it wrote through.
//
// A listener that loses its connection cannot know what it missed: it reports a
// reset (drop everything) and keeps the cache off until it listens again.
package changes

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
)

// Channel is the NOTIFY channel.
const Channel = "belong_changes"

// Content is the key of every answer that shows approved content (a decision on
// any draft may change them).
const Content = "content"

// Member is the key of the answers about a member (their profile, consent, events,
// recognitions) and of those that show them as a peer.
func Member(id string) string { return "m:" + id }

// Community is the key of the peer answers drawn from a community: a member of it who
// changes (consents again, say) may now belong in answers that did not show them.
func Community(id string) string { return "c:" + id }

// Everyone is the key of the peer answers drawn from the whole membership.
const Everyone = "everyone"

// maxPayload keeps each notification under PostgreSQL's 8,000-byte limit.
const maxPayload = 7900

// Publish sends keys in db's transaction; they are delivered when it commits.
func Publish(ctx context.Context, db database.DBTX, keys []string) error {
	var b strings.Builder
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		_, err := db.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, b.String())
		b.Reset()
		return err
	}
	for _, k := range keys {
		if b.Len()+len(k)+1 > maxPayload {
			if err := flush(); err != nil {
				return fmt.Errorf("publish changes: %w", err)
			}
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("publish changes: %w", err)
	}
	return nil
}

// Listener receives the keys every process publishes.
//
// It trusts what it hears only once it has heard itself: every ProbeEvery it
// publishes a probe through DB, the connection writes go through, and until that
// probe comes back on its own LISTEN connection, or when one fails to within
// ProbeTimeout, it reports a reset and nothing is cached. So a listen URL that hears
// nothing (a transaction-pooling PgBouncer, where LISTEN lasts one transaction) turns
// the cache off instead of serving stale answers.
type Listener struct {
	// URL is the database to listen on; it needs a session of its own (not a
	// transaction-pooling PgBouncer).
	URL string
	// DB is where writes go, and so the probes; without it what is heard is trusted
	// from the LISTEN on.
	DB database.DBTX
	// Apply hears each notification's keys.
	Apply func(keys []string)
	// Reset hears that notifications may have been lost (up is false: until the next
	// call with up true, nothing heard can be trusted).
	Reset  func(up bool)
	Logger *slog.Logger
	// ProbeEvery and ProbeTimeout pace the probes: 10 s and 5 s when zero.
	ProbeEvery, ProbeTimeout time.Duration
}

// probePrefix starts the payload of a probe; no change key starts with it.
const probePrefix = "probe:"

// errDeaf is a listen connection that does not hear what is published.
var errDeaf = errors.New("change notices published through the database do not arrive on the listen connection " +
	"(behind a transaction-pooling PgBouncer? set BELONG_LISTEN_URL to a direct connection)")

// Run listens until ctx ends, reconnecting with a backoff of up to 5 s.
func (l *Listener) Run(ctx context.Context) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		l.Reset(false)
		if ctx.Err() != nil {
			return
		}
		l.Logger.WarnContext(ctx, "change listener lost its connection; answers are not cached until it is back",
			slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (l *Listener) listen(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	conn, err := pgx.Connect(ctx, l.URL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	probe := probePrefix + hex.EncodeToString(nonce[:])
	heard := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	if l.DB == nil {
		l.Reset(true)
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.probe(ctx, cancel, probe, heard)
		}()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if c := context.Cause(ctx); c != nil && parent.Err() == nil {
				return c
			}
			return err
		}
		switch {
		case n.Payload == probe:
			select {
			case heard <- struct{}{}:
			default:
			}
		case strings.HasPrefix(n.Payload, probePrefix): // another process's
		default:
			l.Apply(strings.Split(n.Payload, "\n"))
		}
	}
}

// probe publishes the probe every ProbeEvery and ends the listen (cancel) when one
// is not heard in time; the first one heard reports the listener up.
func (l *Listener) probe(ctx context.Context, cancel context.CancelCauseFunc, probe string, heard <-chan struct{}) {
	every, timeout := cmp.Or(l.ProbeEvery, 10*time.Second), cmp.Or(l.ProbeTimeout, 5*time.Second)
	for up := false; ; up = true {
		if _, err := l.DB.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, probe); err != nil {
			cancel(fmt.Errorf("publish a probe: %w", err))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(timeout):
			cancel(errDeaf)
			return
		case <-heard:
			if !up {
				l.Reset(true)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Subscriber is a cache that drops what changed.
type Subscriber interface {
	// Changed drops what the keys name.
	Changed(keys []string)
	// Reset drops everything; with up false it also stops caching until Reset(true).
	Reset(up bool)
}

// Hub fans changes out to the subscribers of one process.
type Hub struct {
	mu   sync.Mutex
	subs []Subscriber
}

// Subscribe adds a subscriber.
func (h *Hub) Subscribe(s Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs = append(h.subs, s)
}

// Changed tells every subscriber.
func (h *Hub) Changed(keys []string) {
	for _, s := range h.subscribers() {
		s.Changed(keys)
	}
}

// Reset tells every subscriber.
func (h *Hub) Reset(up bool) {
	for _, s := range h.subscribers() {
		s.Reset(up)
	}
}

func (h *Hub) subscribers() []Subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.subs)
}
