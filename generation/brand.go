package generation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// Brand is the brand's settings for its copy: phrases no draft may use, the voice
// guide and tone a model writes in, and the most characters a message may have on
// each channel. They are versioned: each save is a new version, the newest in force.
// Version 0 is the default from the environment, before anyone saved one.
type Brand struct {
	Version int      `json:"version"`
	Banned  []string `json:"banned_phrases"`
	Voice   string   `json:"voice"`
	Tone    string   `json:"tone"`
	// ChannelLimits are characters per channel ("push": 120, "sms": 160).
	ChannelLimits map[string]int `json:"channel_limits"`
	CreatedBy     string         `json:"created_by,omitempty"`
	CreatedAt     *time.Time     `json:"created_at,omitempty"`
}

// Guardrails are the checks the brand's settings call for.
func (b Brand) Guardrails() Guardrails {
	return Guardrails{Banned: b.Banned, ChannelLimits: b.ChannelLimits}
}

var (
	// ErrBrand means brand settings out of bounds.
	ErrBrand  = belong.New(belong.EINVALID, "invalid_brand_settings", "the brand settings are not valid")
	channelRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// Validate checks settings and tidies them: phrases trimmed, empty and repeated ones
// dropped; at most 500 phrases of 100 characters, a voice guide of 20,000, a tone of
// 200, and limits of 1 to 10,000 characters on channels named in lower case.
func (b *Brand) Validate() error {
	banned := []string{}
	for _, p := range b.Banned {
		p = strings.TrimSpace(p)
		if p == "" || slices.ContainsFunc(banned, func(q string) bool { return strings.EqualFold(p, q) }) {
			continue
		}
		if utf8.RuneCountInString(p) > 100 || members.HasControl(p) || strings.ContainsAny(p, "\r\n\t") {
			return ErrBrand.With("a banned phrase has at most 100 characters and no control characters: %.40q", p)
		}
		banned = append(banned, p)
	}
	if len(banned) > 500 {
		return ErrBrand.With("at most 500 banned phrases, not %d", len(banned))
	}
	b.Banned = banned
	b.Voice, b.Tone = strings.TrimSpace(b.Voice), strings.TrimSpace(b.Tone)
	if utf8.RuneCountInString(b.Voice) > 20000 || utf8.RuneCountInString(b.Tone) > 200 ||
		members.HasControl(b.Tone) || strings.ContainsAny(b.Tone, "\r\n") || members.HasControl(b.Voice) {
		return ErrBrand.With("a voice guide has at most 20,000 characters and a tone at most 200 on one line")
	}
	if b.ChannelLimits == nil {
		b.ChannelLimits = map[string]int{}
	}
	for ch, n := range b.ChannelLimits {
		if !channelRe.MatchString(ch) || n < 1 || n > 10000 {
			return ErrBrand.With("a channel limit is a lower-case channel name and 1 to 10,000 characters, not %s: %d", ch, n)
		}
	}
	return nil
}

// CurrentBrand returns the settings in force: the newest saved version, else def
// (the environment's, as version 0).
func CurrentBrand(ctx context.Context, db database.DBTX, def Brand) (Brand, error) {
	r, err := storage.New(db).CurrentBrand(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		def.Version = 0
		return def, nil
	}
	if err != nil {
		return Brand{}, fmt.Errorf("brand settings: %w", storage.Translate(err, nil))
	}
	return brandOf(r)
}

func brandOf(r storage.BrandSetting) (Brand, error) {
	b := Brand{Version: int(r.Version), Banned: r.BannedPhrases, Voice: r.Voice, Tone: r.Tone, CreatedBy: r.CreatedBy, CreatedAt: &r.CreatedAt}
	if err := json.Unmarshal(r.ChannelLimits, &b.ChannelLimits); err != nil {
		return Brand{}, fmt.Errorf("brand settings %d: %w", r.Version, err)
	}
	return b, nil
}

// SaveBrand validates settings and stores them as the newest version.
func SaveBrand(ctx context.Context, db database.DBTX, b Brand, actor string) (Brand, error) {
	if err := b.Validate(); err != nil {
		return Brand{}, err
	}
	limits, err := json.Marshal(b.ChannelLimits)
	if err != nil {
		return Brand{}, err
	}
	r, err := storage.New(db).SaveBrand(ctx, storage.SaveBrandParams{BannedPhrases: b.Banned, Voice: b.Voice, Tone: b.Tone,
		ChannelLimits: limits, CreatedBy: actor})
	if err != nil {
		return Brand{}, fmt.Errorf("save brand settings: %w", storage.Translate(err, nil))
	}
	return brandOf(r)
}

// BrandHistory lists the saved versions, newest first.
func BrandHistory(ctx context.Context, db database.DBTX, limit int) ([]Brand, error) {
	rows, err := storage.New(db).BrandHistory(ctx, int32(limit))
	if err != nil {
		return nil, fmt.Errorf("brand settings history: %w", storage.Translate(err, nil))
	}
	out := make([]Brand, len(rows))
	for i, r := range rows {
		if out[i], err = brandOf(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}
