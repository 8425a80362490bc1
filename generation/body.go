package generation

import (
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/sashabaranov/go-openai/jsonschema"

	"github.com/belong-loyalty/belong"
)

// ErrBody means a draft's body does not have its kind's shape.
var ErrBody = belong.New(belong.EINVALID, "invalid_draft", "the draft's body does not have its kind's fields")

// ValidateBody checks a body against its kind's shape (the same schema the model is
// asked to answer in): every field present, none added, each of its type. A
// reviewer's edit must keep the shape, or the copy served to a journey platform would
// not be what it reads.
func ValidateBody(kind string, b Body) error {
	schema, ok := schemas[kind]
	if !ok {
		return ErrBody.With("unknown kind %q", kind)
	}
	names := make([]string, 0, len(schema.Properties))
	for name := range schema.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := b[name]
		if !ok {
			return ErrBody.With("a %s needs the field %q", kind, name)
		}
		if !ofType(v, schema.Properties[name]) {
			return ErrBody.With("%s's field %q must be %s", kind, name, describe(schema.Properties[name]))
		}
	}
	for name := range b {
		if _, ok := schema.Properties[name]; !ok {
			return ErrBody.With("a %s has no field %q", kind, name)
		}
	}
	if kind == KindChallenge {
		if n := len(texts(b["steps"])); n < 3 || n > 5 {
			return ErrBody.With("a challenge has 3 to 5 steps, not %d", n)
		}
		if d, _ := b["duration_days"].(float64); d < 1 || d > 365 {
			if i, ok := b["duration_days"].(int); !ok || i < 1 || i > 365 {
				return ErrBody.With("a challenge lasts 1 to 365 days")
			}
		}
	}
	return nil
}

func ofType(v any, d jsonschema.Definition) bool {
	switch d.Type {
	case jsonschema.String:
		s, ok := v.(string)
		return ok && (d.Enum == nil || slices.Contains(d.Enum, s))
	case jsonschema.Integer:
		switch n := v.(type) {
		case int:
			return true
		case float64:
			return n == math.Trunc(n) && !math.IsInf(n, 0)
		}
		return false
	case jsonschema.Array:
		switch xs := v.(type) {
		case []string:
			return true
		case []any:
			for _, x := range xs {
				if d.Items == nil || !ofType(x, *d.Items) {
					return false
				}
			}
			return true
		}
		return false
	}
	return false
}

func describe(d jsonschema.Definition) string {
	if d.Enum != nil {
		return "one of " + strings.Join(d.Enum, ", ")
	}
	switch d.Type {
	case jsonschema.Integer:
		return "a whole number"
	case jsonschema.Array:
		return "a list of text"
	}
	return "text"
}

// Flat is content in the one shape every kind shares, so that a message template
// needs no branching on the kind: a title, a text and a call to action in the
// content's locale. Title and text come from the body (a profile's or a badge's
// name and description, a challenge's title and narrative, a recognition's message, a
// prompt); where the kind has no title or call to action of its own, a fixed line in
// the locale stands in.
type Flat struct {
	Title string `json:"title"`
	Text  string `json:"text"`
	CTA   string `json:"cta"`
}

// flatLines are the fixed titles and calls to action, by kind and locale.
var flatLines = map[string]map[string][2]string{
	KindCommunityProfile: {"en": {"", "Meet your community"}, "sv": {"", "Träffa din gemenskap"}, "it": {"", "Conosci la tua community"}},
	KindChallenge:        {"en": {"", "Join the challenge"}, "sv": {"", "Anta utmaningen"}, "it": {"", "Partecipa alla sfida"}},
	KindRecognition: {"en": {"Congratulations!", "Celebrate with your community"}, "sv": {"Grattis!", "Fira med din gemenskap"},
		"it": {"Complimenti!", "Festeggia con la tua community"}},
	KindBadge: {"en": {"", "See your badge"}, "sv": {"", "Se ditt märke"}, "it": {"", "Guarda il tuo badge"}},
	KindCommunityPrompt: {"en": {"A question for the community", "Join the conversation"},
		"sv": {"En fråga till gemenskapen", "Delta i samtalet"}, "it": {"Una domanda per la community", "Partecipa alla conversazione"}},
}

// Flatten gives content of kind in locale its flat shape.
func Flatten(kind, locale string, b Body) Flat {
	lines, ok := flatLines[kind][locale]
	if !ok {
		lines = flatLines[kind]["en"]
	}
	str := func(k string) string { s, _ := b[k].(string); return s }
	f := Flat{Title: lines[0], CTA: lines[1]}
	switch kind {
	case KindCommunityProfile, KindBadge:
		f.Title, f.Text = str("name"), str("description")
	case KindChallenge:
		f.Title, f.Text = str("title"), str("narrative")
	case KindRecognition:
		f.Text = str("message")
	case KindCommunityPrompt:
		f.Text = str("prompt")
	}
	return f
}
