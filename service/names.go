package service

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// profileNames holds the names of the approved community profiles, by community and
// locale, in memory: every answer that shows a community names it as the brand
// approved it, without a query of its own, and reads it without a lock. A change to
// content (changes.Content, from this process or, through the listener, any other)
// marks it stale, and the next read reloads it; while the changes feed is down it is
// reloaded at most once a second.
type profileNames struct {
	loaded atomic.Pointer[loadedNames]
	stale  atomic.Bool
	down   atomic.Bool
	mu     sync.Mutex // one reload at a time
}

type loadedNames struct {
	names map[string]map[string]string // community → locale → name
	at    time.Time
}

// Changed implements changes.Subscriber.
func (p *profileNames) Changed(keys []string) {
	if slices.Contains(keys, changes.Content) {
		p.stale.Store(true)
	}
}

// Reset implements changes.Subscriber.
func (p *profileNames) Reset(up bool) {
	p.down.Store(!up)
	p.stale.Store(true)
}

func (p *profileNames) fresh() (map[string]map[string]string, bool) {
	l := p.loaded.Load()
	if l == nil || p.stale.Load() || p.down.Load() && time.Since(l.at) >= time.Second {
		return nil, false
	}
	return l.names, true
}

func (p *profileNames) get(ctx context.Context, db database.DBTX) (map[string]map[string]string, error) {
	if names, ok := p.fresh(); ok {
		return names, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if names, ok := p.fresh(); ok { // reloaded while this one waited
		return names, nil
	}
	// Marked fresh before the query: a change during it marks it stale again.
	p.stale.Store(false)
	rows, err := storage.New(db).ApprovedProfileNames(ctx)
	if err != nil {
		p.stale.Store(true)
		return nil, storage.Translate(err, nil)
	}
	names := make(map[string]map[string]string)
	for _, r := range rows {
		if names[r.SubjectID] == nil {
			names[r.SubjectID] = map[string]string{}
		}
		names[r.SubjectID][r.Locale] = r.Name
	}
	p.loaded.Store(&loadedNames{names: names, at: time.Now()})
	return names, nil
}

func (s *Service) profileNames() *profileNames {
	s.namesOnce.Do(func() { s.hub.Subscribe(&s.names) })
	return &s.names
}

// namer names communities for a reader of locale (such as sv-SE): the approved
// profile name in their language, else in English, else in any language, else the
// name from the community's labels.
func (s *Service) namer(ctx context.Context, locale string) (func(id, labelName string) string, error) {
	names, err := s.profileNames().get(ctx, s.DB)
	if err != nil {
		return nil, err
	}
	lang := members.Language(locale)
	return func(id, labelName string) string {
		byLocale := names[id]
		for _, l := range []string{lang, "en"} {
			if n := byLocale[l]; n != "" {
				return n
			}
		}
		for _, l := range slices.Sorted(maps.Keys(byLocale)) {
			return byLocale[l]
		}
		return labelName
	}, nil
}

// NameCommunities gives each match the name a reader of locale should see (namer).
func (s *Service) NameCommunities(ctx context.Context, ms []matching.Match, locale string) error {
	name, err := s.namer(ctx, locale)
	if err != nil {
		return err
	}
	for i := range ms {
		ms[i].Name = name(ms[i].ID, ms[i].Name)
	}
	return nil
}
