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
	"context"
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
type Listener struct {
	// URL is the database to listen on; it needs a session of its own (not a
	// transaction-pooling PgBouncer).
	URL string
	// Apply hears each notification's keys.
	Apply func(keys []string)
	// Reset hears that notifications may have been lost (up is false: until the next
	// call with up true, nothing heard can be trusted).
	Reset  func(up bool)
	Logger *slog.Logger
}

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

func (l *Listener) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.URL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	l.Reset(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.Apply(strings.Split(n.Payload, "\n"))
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
