package generation

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Finding is one thing a guardrail noticed in a draft, shown to the reviewer.
type Finding struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Severity is SeverityBlock or SeverityWarn.
	Severity string `json:"severity"`
}

// Severities of findings: a blocking one keeps a draft from approval unless an admin
// overrides it with a reason; a warning is for the reviewer to weigh.
const (
	SeverityBlock = "block"
	SeverityWarn  = "warn"
)

// severityOf is how much a finding of rule weighs in content of kind: personal data,
// markup and the brand's banned phrases block everywhere, transactional language
// blocks a recognition (a message to one person) and warns elsewhere; lengths and
// empty fields warn.
func severityOf(kind, rule string) string {
	switch rule {
	case "personal_data", "markup", "banned_phrase":
		return SeverityBlock
	case "belonging_not_bargains":
		if kind == KindRecognition {
			return SeverityBlock
		}
	}
	return SeverityWarn
}

// Blocking returns the findings that block approval.
func Blocking(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == SeverityBlock {
			out = append(out, f)
		}
	}
	return out
}

// Guardrails are the checks every draft goes through. The zero value checks lengths,
// personal data and transactional language; brands add banned phrases and channel
// limits (Brand.Guardrails).
type Guardrails struct {
	// Banned phrases from the brand's settings, matched case-insensitively.
	Banned []string
	// ChannelLimits are the most characters a recognition's message may have on each
	// channel it may go out on.
	ChannelLimits map[string]int
}

// maxLen is each field's limit, in characters.
var maxLen = map[string]int{
	"name": 60, "identity_line": 120, "description": 400, "title": 80, "narrative": 600,
	"steps": 140, "message": 280, "prompt": 200, "difficulty": 20, "occasion": 20,
}

var (
	emailRe = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`)
	phoneRe = regexp.MustCompile(`\+?\d[\d ()-]{6,}\d`)
	urlRe   = regexp.MustCompile(`(?i)https?://\S+`)
	// Markup a journey platform would render or run in an e-mail or a push: tags,
	// comments, character references (with or without their semicolon), script and
	// data URLs, template syntax (Liquid, Handlebars, AMPscript, Mailchimp merge tags,
	// ${} and #{}), and the controls that reorder text on screen.
	markupRe = regexp.MustCompile(`(?i)<\s*[a-z!/?]|&#?[a-z0-9]+;|&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-f]+)|(javascript|vbscript|data):|\{\{|\{%|%%|\*\||\$\{|#\{|[\x{202A}-\x{202E}\x{2066}-\x{2069}]`)
	// Belonging, not bargains: the language of transactions.
	transactionalRe = regexp.MustCompile(`(?i)\b(\d+\s*%\s*off|points?|poäng|punti|discounts?|rabatt\w*|sconto|sconti|coupons?|vouchers?|cash\s?back|free\s+gifts?|gratis|omaggio|buy\s+one|bogo|deals?|offerta|erbjudande)\b`)
)

// Check runs every guardrail on a draft of kind. firstName, when the draft is about a
// member, is the one name it may carry; otherNames (the member's other names) must
// not appear.
func (g Guardrails) Check(kind string, b Body, otherNames ...string) []Finding {
	out := []Finding{}
	add := func(field, rule, format string, args ...any) {
		out = append(out, Finding{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...), Severity: severityOf(kind, rule)})
	}
	fields := make([]string, 0, len(b))
	for f := range b {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		for i, text := range texts(b[f]) {
			name := f
			switch b[f].(type) {
			case []string, []any:
				name = fmt.Sprintf("%s[%d]", f, i)
			}
			if limit, ok := maxLen[f]; ok && len([]rune(text)) > limit {
				add(name, "length", "%d characters; the limit is %d", len([]rune(text)), limit)
			}
			if strings.TrimSpace(text) == "" && f != "difficulty" {
				add(name, "empty", "is empty")
			}
			lower := strings.ToLower(text)
			for _, phrase := range g.Banned {
				if phrase != "" && strings.Contains(lower, strings.ToLower(phrase)) {
					add(name, "banned_phrase", "uses the banned phrase %q", phrase)
				}
			}
			if markupRe.MatchString(text) {
				// Member-provided text (a name, an interest) can carry it into copy:
				// such a draft is never approved without a reviewer.
				add(name, "markup", "contains markup or template syntax (%q) that a journey platform would render", markupRe.FindString(text))
			}
			if emailRe.MatchString(text) || phoneRe.MatchString(text) || urlRe.MatchString(text) {
				add(name, "personal_data", "contains an e-mail address, phone number or link")
			}
			for _, n := range otherNames {
				if len(n) > 1 && regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(n)+`\b`).MatchString(text) {
					add(name, "personal_data", "names the member beyond their first name (%q)", n)
				}
			}
			if (kind == KindRecognition || kind == KindChallenge || kind == KindBadge) && transactionalRe.MatchString(text) {
				add(name, "belonging_not_bargains", "transactional language (%q): recognise the person, not a deal",
					transactionalRe.FindString(text))
			}
		}
	}
	if msg, ok := b["message"].(string); ok && kind == KindRecognition {
		n := len([]rune(msg))
		for _, ch := range slices.Sorted(maps.Keys(g.ChannelLimits)) {
			if limit := g.ChannelLimits[ch]; n > limit {
				add("message", "channel_length", "%d characters: too long for %s (%d)", n, ch, limit)
			}
		}
	}
	return out
}

func texts(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []string:
		return t
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
