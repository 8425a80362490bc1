package service

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/storage"
)

// ReasonNoRun says an answer has no communities because no cluster run is published
// yet (matching has the member's own reasons).
const ReasonNoRun = "no_run"

// ExportLine is one member in a bulk export: what a journey platform keeps as the
// member's attributes.
type ExportLine struct {
	MemberID string          `json:"member_id"`
	Consent  members.Consent `json:"consent"`
	// Stage and NextAction are empty without personalization consent.
	Stage      string  `json:"stage,omitempty"`
	NextAction *Action `json:"next_action,omitempty"`
	// PrimaryCommunity is Communities[0], for templates that want one field.
	PrimaryCommunity *ExportCommunity  `json:"primary_community"`
	Communities      []ExportCommunity `json:"communities"`
	Tribe            *matching.Tribe   `json:"tribe"`
	// Reason says why Communities is empty (no_consent, not_embedded_yet, no_run).
	Reason string `json:"reason,omitempty"`
	// Held says a due recognition waits (held_quiet_hours, capped: across channels)
	// until HeldUntil, as the moment would answer now; the next action is then not
	// to celebrate.
	Held      string     `json:"held,omitempty"`
	HeldUntil *time.Time `json:"held_until,omitempty"`
}

// ExportCommunity is a community in an export line.
type ExportCommunity struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Rank  int     `json:"rank"`
	Score float64 `json:"score"`
}

// ExportQuery selects a page of members: those after the id After (in id order), at
// most Limit, and with Since only those whose profile, consent, activity or
// recognitions changed since then (every member when a run was published since).
type ExportQuery struct {
	After string
	Limit int
	Since *time.Time
	// Reader is where the page is read (a read replica); the primary when nil.
	Reader *pgxpool.Pool
}

// exportPage is how many members one query reads: memory stays bounded whatever the
// export's size.
const exportPage = 1000

// Export writes a page of the members' export: it calls start with the cursor of
// the next page (next, and whether there is one) before the first line, then line
// for each member, all from one snapshot of the database.
func (s *Service) Export(ctx context.Context, q ExportQuery, start func(next string, more bool) error, line func(ExportLine) error) error {
	v, err := s.View(ctx)
	noRun := errors.Is(err, matching.ErrNoRun)
	if noRun {
		v, err = &matching.View{}, nil
	}
	if err != nil {
		return err
	}
	now := s.now()
	db := s.DB
	if q.Reader != nil {
		db = q.Reader
	}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return storage.Translate(err, nil)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Planned for its cursor, each page walks the members' index from after; a
	// generic plan (the pool's default, right for the hot reads) cannot know where
	// the page starts and joins every member after it: 10 ms a page against 120.
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
		return storage.Translate(err, nil)
	}
	qs := storage.New(tx)
	since := q.Since
	if since != nil {
		// A run published since may have changed anyone's communities.
		if full, err := qs.RunPublishedSince(ctx, *since); err != nil {
			return storage.Translate(err, nil)
		} else if full {
			since = nil
		}
	}
	cur, err := qs.ExportCursor(ctx, storage.ExportCursorParams{After: q.After, Lim: int64(q.Limit), ChangedSince: since})
	if err != nil {
		return storage.Translate(err, nil)
	}
	if err := start(cur.Last, cur.More); err != nil {
		return err
	}
	namers := map[string]func(id, labelName string) string{} // by locale
	after, left := q.After, q.Limit
	for left > 0 {
		rows, err := qs.ExportPage(ctx, storage.ExportPageParams{RunID: v.ID, After: after, ChangedSince: since,
			Lim: int32(min(left, exportPage)), SentSince: now.Add(-8 * 24 * time.Hour)})
		if err != nil {
			return storage.Translate(err, nil)
		}
		for _, r := range rows {
			name, ok := namers[r.Locale]
			if !ok {
				if name, err = s.namer(ctx, r.Locale); err != nil {
					return err
				}
				namers[r.Locale] = name
			}
			if err := line(s.exportLine(v, noRun, r, now, name)); err != nil {
				return err
			}
		}
		if len(rows) < min(left, exportPage) {
			break
		}
		after, left = rows[len(rows)-1].ID, left-len(rows)
	}
	return nil
}

func (s *Service) exportLine(v *matching.View, noRun bool, r storage.ExportPageRow, now time.Time, name func(id, labelName string) string) ExportLine {
	l := ExportLine{MemberID: r.ID, Consent: members.Consent{Personalization: r.ConsentPersonalization, Community: r.ConsentCommunity},
		Communities: []ExportCommunity{}}
	switch {
	case !r.ConsentPersonalization:
		l.Reason = matching.ReasonNoConsent
		return l
	case noRun:
		l.Reason = ReasonNoRun
	case len(r.Communities) == 0:
		l.Reason = matching.ReasonNotEmbeddedYet
	}
	a := moments.Summary{Total: r.Total, First: r.FirstAt, Recent: r.Recent, Contributions: r.Contributions,
		Negative: r.Negative}.Activity(now)
	a.Responsiveness = r.Resp
	due := ""
	if r.Due {
		sent := make([]moments.Sent, len(r.Sent))
		for i, at := range r.Sent {
			sent[i] = moments.Sent{At: at}
		}
		if reason, until := s.Policy.Hold(now, moments.Location(r.Timezone), "", sent); reason != "" {
			l.Held, l.HeldUntil = reason, &until
		} else {
			due = "a recognition is due"
		}
	}
	as := moments.Assess(now, r.JoinedAt, a, due)
	l.Stage, l.NextAction = as.Stage, &Action{as.Action, as.Reason}
	for i, id := range r.Communities {
		c, err := matching.GetCommunity(v, id)
		if err != nil {
			continue // not in the view (a run published since the view was loaded)
		}
		score := 0.0
		if i < len(r.Scores) {
			score = float64(int(r.Scores[i]*1000+0.5)) / 1000
		}
		l.Communities = append(l.Communities, ExportCommunity{ID: c.ID, Name: name(c.ID, c.Name), Rank: i + 1, Score: score})
		if i == 0 {
			l.Tribe = c.Tribe
		}
	}
	if len(l.Communities) > 0 {
		l.PrimaryCommunity = &l.Communities[0]
	}
	return l
}
