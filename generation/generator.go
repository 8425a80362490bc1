package generation

import (
	"context"
	"fmt"
	"strings"
)

// KindCommunityProfile is a community's name and description.
const KindCommunityProfile = "community_profile"

// CommunityFacts is what a generator may know about a community: never members'
// personal data.
type CommunityFacts struct {
	ID     string
	Labels []string
	Size   int
}

// CommunityProfile is the content of a community_profile draft.
type CommunityProfile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Generator drafts content.
type Generator interface {
	// Name identifies the generator in stored drafts.
	Name() string
	// PromptVersion identifies the template or prompt, so drafts can be traced to it.
	PromptVersion() string
	CommunityProfile(ctx context.Context, c CommunityFacts, locale string) (CommunityProfile, error)
}

// Locales the template generator writes.
var Locales = []string{"en", "sv", "it"}

// Template is the offline generator: fixed, reviewed sentence frames filled with a
// community's labels. Deterministic and free.
type Template struct{}

var _ Generator = Template{}

// Name implements Generator.
func (Template) Name() string { return "template" }

// PromptVersion implements Generator.
func (Template) PromptVersion() string { return "template-v1" }

type frames struct {
	open        string // name when a community has no labels
	nameOne     string // %s: the label
	nameTwo     string // %s, %s
	describe    string // %s: the labels joined, %d: size
	describeNil string // %d
	and         string
}

var localeFrames = map[string]frames{
	"en": {"Open Circle", "The %s Circle", "%s & %s", "A circle of %[2]d members who share a love of %[1]s. Come as you are, find your people, and grow together.", "A circle of %d members finding their shared rhythm. Come as you are.", "and"},
	"sv": {"Öppna cirkeln", "%s-cirkeln", "%s & %s", "En cirkel med %[2]d medlemmar som delar kärleken till %[1]s. Kom som du är, hitta ditt gäng och väx tillsammans.", "En cirkel med %d medlemmar som hittar sin gemensamma rytm. Kom som du är.", "och"},
	"it": {"Cerchio aperto", "Il cerchio del %s", "%s & %s", "Un cerchio di %[2]d membri che condividono la passione per %[1]s. Vieni come sei, trova la tua gente e cresci insieme.", "Un cerchio di %d membri che trovano il loro ritmo. Vieni come sei.", "e"},
}

// CommunityProfile implements Generator.
func (Template) CommunityProfile(_ context.Context, c CommunityFacts, locale string) (CommunityProfile, error) {
	f, ok := localeFrames[baseLang(locale)]
	if !ok {
		return CommunityProfile{}, fmt.Errorf("template generator: no templates for locale %q (have %s)", locale, strings.Join(Locales, ", "))
	}
	var p CommunityProfile
	switch len(c.Labels) {
	case 0:
		p.Name = f.open
		p.Description = fmt.Sprintf(f.describeNil, c.Size)
		return p, nil
	case 1:
		p.Name = fmt.Sprintf(f.nameOne, title(c.Labels[0]))
	default:
		p.Name = fmt.Sprintf(f.nameTwo, title(c.Labels[0]), title(c.Labels[1]))
	}
	p.Description = fmt.Sprintf(f.describe, joinList(c.Labels, f.and), c.Size)
	return p, nil
}

func baseLang(locale string) string {
	l, _, _ := strings.Cut(strings.ToLower(locale), "-")
	l, _, _ = strings.Cut(l, "_")
	return l
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
