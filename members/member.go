package members

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Member is one member's profile as ingested.
type Member struct {
	ID         string         `json:"id"`
	Name       string         `json:"name,omitempty"`
	Locale     string         `json:"locale,omitempty"`
	Timezone   string         `json:"timezone,omitempty"`
	JoinedAt   *time.Time     `json:"joined_at,omitempty"`
	Interests  []string       `json:"interests,omitempty"`
	Causes     []string       `json:"causes,omitempty"`
	SkillLevel string         `json:"skill_level,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Consent    Consent        `json:"consent"`
}

// Consent records what a member agreed to. Without Personalization a member is never
// embedded or matched; absent consent is no consent.
type Consent struct {
	Personalization bool `json:"personalization"`
	Community       bool `json:"community"`
}

// Event is one thing a member did.
type Event struct {
	ID       string         `json:"id"`
	MemberID string         `json:"member_id"`
	Type     string         `json:"type"`
	At       time.Time      `json:"at"`
	Props    map[string]any `json:"props,omitempty"`
}

// Language is a locale's language: "sv" for sv-SE or sv_SE, in lower case.
func Language(locale string) string {
	l, _, _ := strings.Cut(strings.ToLower(locale), "-")
	l, _, _ = strings.Cut(l, "_")
	return l
}

// MaxEventAhead is how far in the future an event may be dated (clocks differ).
const MaxEventAhead = 24 * time.Hour

// SkillLevels are the accepted skill levels, lowest first.
var SkillLevels = []string{"beginner", "intermediate", "advanced", "expert"}

// Limits on what one member or event may carry. MaxListLen is generous on purpose:
// real memberships list far more interests than a form would (one data set had 16%
// of members over 64); a longer list is still refused, by line, rather than cut
// short, because which interests to drop is the brand's call.
const (
	MaxIDLen       = 128
	MaxTextLen     = 200
	MaxListLen     = 500
	MaxPropsBytes  = 8 << 10
	maxEventTypeLn = 64
)

var (
	localeRe    = regexp.MustCompile(`^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})*$`)
	eventTypeRe = regexp.MustCompile(`^[a-z][a-z0-9_.:-]*$`)
)

// FieldError names the field that is wrong and why.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Msg)
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// idRe is the id alphabet: what a brand's ids are made of (numbers, UUIDs, prefixed
// ids, e-mail addresses) and what every route can address as one path segment. No
// slash, percent sign, question mark, hash or space, and not only dots.
var idRe = regexp.MustCompile(`^[A-Za-z0-9._:@+-]+$`)

func checkID(field, id string) *FieldError {
	switch {
	case id == "":
		return fieldErr(field, "is required")
	case len(id) > MaxIDLen:
		return fieldErr(field, "is longer than %d bytes", MaxIDLen)
	case !idRe.MatchString(id) || strings.Trim(id, ".") == "":
		return fieldErr(field, "%q may hold only letters, digits and . _ : @ + - (and not only dots)", id)
	}
	return nil
}

// controlNotSpace reports control characters other than tab and line breaks.
func controlNotSpace(r rune) bool {
	return (unicode.IsControl(r) || bidi(r)) && r != '\t' && r != '\n' && r != '\r'
}

// HasControl reports what free text must not hold, wherever it comes from (a JSON
// body, a console form): control characters other than tabs and line breaks, and the
// controls that reorder text on screen.
func HasControl(s string) bool { return strings.IndexFunc(s, controlNotSpace) >= 0 }

// checkJSON refuses control characters (NUL among them, which PostgreSQL's jsonb
// cannot hold) in the keys and strings of a JSON value (props, attributes).
func checkJSON(field string, v any) *FieldError {
	switch t := v.(type) {
	case string:
		if strings.IndexFunc(t, controlNotSpace) >= 0 {
			return fieldErr(field, "must not contain control characters")
		}
	case map[string]any:
		for k, x := range t {
			if strings.IndexFunc(k, controlNotSpace) >= 0 {
				return fieldErr(field, "must not contain control characters")
			}
			if err := checkJSON(field, x); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range t {
			if err := checkJSON(field, x); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkText(field, s string) *FieldError {
	if len(s) > MaxTextLen {
		return fieldErr(field, "is longer than %d bytes", MaxTextLen)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || bidi(r) }) >= 0 {
		return fieldErr(field, "must not contain control characters")
	}
	if markup.MatchString(s) {
		return fieldErr(field, "must not contain markup or template syntax (< > { } %%%% *| ${ #{ or a script URL)")
	}
	return nil
}

// markup is what a journey platform would render or run if a name or an interest
// reached copy with it: tags, template syntax (Liquid, Handlebars, AMPscript,
// Mailchimp merge tags, ${} and #{}), and script or data URLs. Names and interests
// never need it.
var markup = regexp.MustCompile(`(?i)[<>{}]|%%|\*\||\$\{|#\{|(javascript|vbscript|data):`)

// notAZone reports names the zone database holds that are no member's zone: the
// server's own ("Local", "localtime"), and the files beside the IANA names (which
// PostgreSQL reads differently, right/UTC being 27 s off).
func notAZone(tz string) bool {
	lower := strings.ToLower(tz)
	return lower == "local" || lower == "localtime" || lower == "posixrules" || lower == "factory" ||
		strings.HasPrefix(lower, "posix/") || strings.HasPrefix(lower, "right/")
}

// bidi reports the Unicode controls that reorder text on screen.
func bidi(r rune) bool { return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 }

// minTime and maxTime bound the times a line may carry: nothing outside them is a
// member's history, and JSON cannot even write a year past 9999.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkTime(field string, t time.Time) *FieldError {
	if t.Before(minTime) || !t.Before(maxTime) {
		return fieldErr(field, "must be between 1900 and 2199")
	}
	return nil
}

// normTerms lower-cases, trims and de-duplicates interest or cause phrases.
func normTerms(field string, in []string) ([]string, *FieldError) {
	if len(in) > MaxListLen {
		return nil, fieldErr(field, "has %d entries; the limit is %d (keep the member's most important ones)", len(in), MaxListLen)
	}
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, t := range in {
		t = strings.Join(strings.Fields(strings.ToLower(t)), " ")
		f := fmt.Sprintf("%s[%d]", field, i)
		if t == "" {
			return nil, fieldErr(f, "is empty")
		}
		if err := checkText(f, t); err != nil {
			return nil, err
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// Normalize validates m and puts it in canonical form (trimmed, lower-cased terms).
func (m *Member) Normalize() error {
	if err := checkID("id", m.ID); err != nil {
		return err
	}
	m.Name = strings.TrimSpace(m.Name)
	if m.JoinedAt != nil {
		if err := checkTime("joined_at", *m.JoinedAt); err != nil {
			return err
		}
	}
	if err := checkText("name", m.Name); err != nil {
		return err
	}
	if m.Locale != "" && !localeRe.MatchString(m.Locale) {
		return fieldErr("locale", "%q is not a language tag such as sv-SE", m.Locale)
	}
	if m.Timezone != "" {
		// "Local" is the server's own zone to Go and unknown to PostgreSQL: never a
		// member's.
		if _, err := time.LoadLocation(m.Timezone); err != nil || len(m.Timezone) > 64 || notAZone(m.Timezone) {
			return fieldErr("timezone", "%q is not an IANA time zone such as Europe/Stockholm", m.Timezone)
		}
	}
	p := Profile{Interests: m.Interests, Causes: m.Causes, SkillLevel: m.SkillLevel}
	if err := p.Normalize(); err != nil {
		return err
	}
	m.Interests, m.Causes, m.SkillLevel = p.Interests, p.Causes, p.SkillLevel
	if m.Attributes != nil {
		b, _ := json.Marshal(m.Attributes)
		if len(b) > MaxPropsBytes {
			return fieldErr("attributes", "is larger than %d bytes", MaxPropsBytes)
		}
		if err := checkJSON("attributes", m.Attributes); err != nil {
			return err
		}
	}
	return nil
}

// Profile is the part of a member that says who they are: what matching looks at.
type Profile struct {
	Interests  []string `json:"interests,omitempty"`
	Causes     []string `json:"causes,omitempty"`
	SkillLevel string   `json:"skill_level,omitempty"`
}

// Normalize validates p and puts it in canonical form: terms lower-cased, trimmed and
// de-duplicated; the skill level one of SkillLevels or empty.
func (p *Profile) Normalize() error {
	var err *FieldError
	if p.Interests, err = normTerms("interests", p.Interests); err != nil {
		return err
	}
	if p.Causes, err = normTerms("causes", p.Causes); err != nil {
		return err
	}
	p.SkillLevel = strings.ToLower(strings.TrimSpace(p.SkillLevel))
	if p.SkillLevel != "" && SkillRank(p.SkillLevel) < 0 {
		return fieldErr("skill_level", "%q is not one of %s", p.SkillLevel, strings.Join(SkillLevels, ", "))
	}
	return nil
}

// SkillRank is the position of level in SkillLevels, or -1.
func SkillRank(level string) int {
	for i, l := range SkillLevels {
		if l == level {
			return i
		}
	}
	return -1
}

// Normalize validates e and puts it in canonical form.
func (e *Event) Normalize() error {
	if err := checkID("id", e.ID); err != nil {
		return err
	}
	if err := checkID("member_id", e.MemberID); err != nil {
		return err
	}
	e.Type = strings.TrimSpace(e.Type)
	if e.Type == "" {
		return fieldErr("type", "is required")
	}
	if len(e.Type) > maxEventTypeLn || !eventTypeRe.MatchString(e.Type) {
		return fieldErr("type", "%q must be lower-case snake_case such as class_completed", e.Type)
	}
	if e.At.IsZero() {
		return fieldErr("at", "is required (RFC 3339 time)")
	}
	if err := checkTime("at", e.At); err != nil {
		return err
	}
	if e.At.After(time.Now().Add(MaxEventAhead)) {
		return fieldErr("at", "is more than a day in the future: an event is something that happened")
	}
	// A category counts towards the interest of its name: it follows an interest's rules.
	if c, ok := e.Props["category"]; ok {
		s, isText := c.(string)
		if !isText {
			return fieldErr("props", "category must be text (an interest's name)")
		}
		if err := checkText("props", s); err != nil {
			return err
		}
	}
	if e.Props != nil {
		b, _ := json.Marshal(e.Props)
		if len(b) > MaxPropsBytes {
			return fieldErr("props", "is larger than %d bytes", MaxPropsBytes)
		}
		if err := checkJSON("props", e.Props); err != nil {
			return err
		}
	}
	return nil
}

// MemberIDs returns the distinct members of events, in first-seen order.
func MemberIDs(es []Event) []string {
	ids := make([]string, 0, len(es))
	seen := map[string]bool{}
	for _, e := range es {
		if !seen[e.MemberID] {
			seen[e.MemberID] = true
			ids = append(ids, e.MemberID)
		}
	}
	return ids
}
