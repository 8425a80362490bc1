package moments

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/storage"
)

// Badge is approved badge content as a member sees it, with its emblem drawn.
type Badge struct {
	// ID is the approved draft's id.
	ID          int64  `json:"id,string"`
	CommunityID string `json:"community_id"`
	Locale      string `json:"locale"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Emblem      string `json:"emblem"`
	Symbol      string `json:"symbol"`
	// SVG is the emblem as a standalone SVG document (generation.Emblem).
	SVG string `json:"svg"`
}

// Award is a badge a member earned: the milestone that earned it and the badge.
type Award struct {
	Key      string    `json:"key"`
	Occasion string    `json:"occasion"`
	Detail   string    `json:"detail"`
	EarnedAt time.Time `json:"earned_at"`
	// ChallengeID is the challenge instance completed, for a challenge's badge.
	ChallengeID *int64 `json:"challenge_id,omitempty,string"`
	Badge       Badge  `json:"badge"`
}

// Badges lists the badges a member earned, newest first: each milestone of theirs
// that carries an approved badge (a challenge's, or their community's for the
// milestone's occasion), in locale where the badge has it, else English. A badge
// approved after the milestone shows from then on; one withdrawn stops showing. The
// emblem's ribbon reads the month a challenge was completed in ("Mar 2027": each
// instance of a recurring one its own) and what any other milestone was ("100
// classes", "30 days").
func Badges(ctx context.Context, db database.DBTX, memberID, locale string) ([]Award, error) {
	rows, err := storage.New(db).MemberBadges(ctx, storage.MemberBadgesParams{MemberID: memberID, Locale: locale})
	if err != nil {
		return nil, fmt.Errorf("read badges of %s: %w", memberID, storage.Translate(err, nil))
	}
	out := make([]Award, 0, len(rows))
	for _, r := range rows {
		var body generation.Body
		if err := json.Unmarshal(r.Body, &body); err != nil {
			return nil, fmt.Errorf("read badge %d: %w", r.BadgeID, err)
		}
		str := func(k string) string { s, _ := body[k].(string); return s }
		caption := r.Detail
		if r.Occasion == OccasionChallenge {
			caption = monthOf(r.OccurredAt, r.Locale)
		}
		out = append(out, Award{Key: r.Key, Occasion: r.Occasion, Detail: r.Detail, EarnedAt: r.OccurredAt, ChallengeID: r.ChallengeID,
			Badge: Badge{ID: r.BadgeID, CommunityID: r.CommunityID, Locale: r.Locale, Name: str("name"), Description: str("description"),
				Emblem: str("emblem"), Symbol: str("symbol"), SVG: generation.Emblem(body, r.CommunityID, caption)}})
	}
	return out, nil
}

// months are the short month names of the locales badges are written in.
var months = map[string][12]string{
	"en": {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	"sv": {"jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"},
	"it": {"gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"},
}

// monthOf is t's month and year as locale writes them short ("Mar 2027").
func monthOf(t time.Time, locale string) string {
	names, ok := months[locale]
	if !ok {
		names = months["en"]
	}
	return fmt.Sprintf("%s %d", names[t.Month()-1], t.Year())
}
