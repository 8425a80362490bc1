package generation

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/belong-loyalty/belong/members"
)

// Kinds of content.
const (
	KindCommunityProfile = "community_profile" // name, description, identity_line
	KindChallenge        = "challenge"         // title, narrative, steps, duration_days, difficulty
	KindRecognition      = "recognition"       // message (first name, community), occasion
	KindCommunityPrompt  = "community_prompt"  // prompt: a conversation starter
	KindBadge            = "badge"             // name, description, emblem, symbol: what a challenge or milestone earns
)

// Kinds lists every kind.
var Kinds = []string{KindCommunityProfile, KindChallenge, KindRecognition, KindCommunityPrompt, KindBadge}

// Occasions a recognition can mark, and a badge be earned for.
var Occasions = []string{"milestone", "streak", "anniversary", "challenge"}

// CommunityFacts is what a generator may know about a community: never members'
// personal data.
type CommunityFacts struct {
	ID     string
	Name   string
	Labels []string
	Size   int
	// SkillMix counts the community's members per skill level.
	SkillMix map[string]int
	// Facets are what most of its members share beyond interests, by facet
	// ("language", "skill", "attributes.city") and as a person would say it
	// ("Swedish", "beginners", "Stockholm"): what tells it from communities of the
	// same interests.
	Facets map[string]string
}

// Request asks for one piece of content.
type Request struct {
	Kind      string
	Locale    string
	Community CommunityFacts
	// FirstName (recognition only) is the one piece of a member a draft may carry.
	FirstName string
	// Occasion and Detail (recognition and badge): "milestone"/"100 classes",
	// "streak"/"30 days", "anniversary"/"1 year", "challenge"/the challenge's title.
	// A badge's detail is only the challenge's title (one badge serves every
	// milestone of its occasion).
	Occasion, Detail string
	// Voice and Tone are the brand's (Brand): a model writes in them; the templates
	// are reviewed copy already.
	Voice, Tone string
}

// Validate reports a request no generator can serve.
func (r Request) Validate() error {
	if !slices.Contains(Kinds, r.Kind) {
		return fmt.Errorf("kind %q is not one of %s", r.Kind, strings.Join(Kinds, ", "))
	}
	if len(r.Locale) > 16 || !slices.Contains(Locales, members.Language(r.Locale)) {
		return fmt.Errorf("locale %q is not one of %s", r.Locale, strings.Join(Locales, ", "))
	}
	if r.Community.ID == "" {
		return fmt.Errorf("a %s needs a community", r.Kind)
	}
	if (r.Kind == KindRecognition || r.Kind == KindBadge) && !slices.Contains(Occasions, r.Occasion) {
		return fmt.Errorf("occasion %q is not one of %s", r.Occasion, strings.Join(Occasions, ", "))
	}
	if r.Kind == KindRecognition {
		if r.FirstName == "" || strings.ContainsAny(r.FirstName, " \t") {
			return fmt.Errorf("a recognition needs the member's first name (one word)")
		}
	}
	return nil
}

// Body is a draft's content: string fields, plus "steps" ([]string) and
// "duration_days" (int) for challenges; a badge's "emblem" and "symbol" name one of
// Emblems and Symbols.
type Body map[string]any

// Generator drafts content.
type Generator interface {
	// Name identifies the generator in stored drafts.
	Name() string
	// PromptVersion identifies the template or prompt, so drafts can be traced to it.
	PromptVersion() string
	Generate(ctx context.Context, r Request) (Body, error)
}

// Locales the template generator writes.
var Locales = []string{"en", "sv", "it"}

// Difficulty reads a community's skill mix: the mean level (beginner 0 … expert 3)
// picks gentle, steady, stretch or summit, and with it a challenge's length.
func Difficulty(mix map[string]int) (level string, days, steps int) {
	ranks := map[string]int{"beginner": 0, "intermediate": 1, "advanced": 2, "expert": 3}
	var sum, n int
	for l, c := range mix {
		if r, ok := ranks[l]; ok {
			sum += r * c
			n += c
		}
	}
	mean := 0.5
	if n > 0 {
		mean = float64(sum) / float64(n)
	}
	switch {
	case mean < 0.75:
		return "gentle", 14, 3
	case mean < 1.5:
		return "steady", 21, 4
	case mean < 2.25:
		return "stretch", 28, 5
	default:
		return "summit", 30, 5
	}
}

// variant picks one of n phrasings, the same one every time for a subject: variety
// across communities, stability for one.
func variant(n int, parts ...string) int {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int(h.Sum32() % uint32(n))
}

func title(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

func joinList(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}
