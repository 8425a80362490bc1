package generation_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/generation"
)

var trail = generation.CommunityFacts{ID: "c-1", Name: "Trail running · Ocean clean-ups",
	Labels: []string{"trail running", "ocean clean-ups"}, Size: 42,
	SkillMix: map[string]int{"beginner": 30, "intermediate": 10, "advanced": 2}}

func TestTemplateWritesEveryKindAndLocale(t *testing.T) {
	ctx := context.Background()
	for _, loc := range append(append([]string{}, generation.Locales...), "sv-SE", "it_IT") {
		for _, kind := range generation.Kinds {
			r := generation.Request{Kind: kind, Locale: loc, Community: trail, FirstName: "Ana", Occasion: "streak", Detail: "30 days"}
			b, err := generation.Template{}.Generate(ctx, r)
			if err != nil {
				t.Fatalf("%s %s: %v", loc, kind, err)
			}
			if f := (generation.Guardrails{}).Check(kind, b); len(f) > 0 {
				t.Errorf("%s %s: template copy trips the guardrails: %v", loc, kind, f)
			}
			switch kind {
			case generation.KindCommunityProfile:
				// No number that goes stale: the size changes every night.
				if b["name"] == "" || strings.ContainsAny(b["description"].(string), "0123456789") || b["identity_line"] == "" {
					t.Errorf("%s profile %v", loc, b)
				}
			case generation.KindChallenge:
				steps := b["steps"].([]string)
				if len(steps) < 3 || len(steps) > 5 || b["duration_days"].(int) < 7 || b["difficulty"] == "" {
					t.Errorf("%s challenge %v", loc, b)
				}
			case generation.KindRecognition:
				msg := b["message"].(string)
				days := map[string]string{"en": "30 days", "sv": "30 dagar", "it": "30 giorni"}[loc[:2]]
				if !strings.Contains(msg, "Ana") || !strings.Contains(msg, trail.Name) || !strings.Contains(msg, days) {
					t.Errorf("%s recognition %q: want the first name, the community and the detail in the language (%s)", loc, msg, days)
				}
			case generation.KindCommunityPrompt:
				if !strings.HasSuffix(b["prompt"].(string), "?") {
					t.Errorf("%s prompt %v", loc, b)
				}
			case generation.KindBadge:
				if b["symbol"] != "flame" || !strings.Contains(b["description"].(string), trail.Name) {
					t.Errorf("%s streak badge %v: want a flame and the community's name", loc, b)
				}
			}
		}
	}
	for _, bad := range []generation.Request{
		{Kind: "poem", Locale: "en", Community: trail},
		{Kind: generation.KindCommunityPrompt, Locale: "fr", Community: trail},
		{Kind: generation.KindRecognition, Locale: "en", Community: trail, FirstName: "Ana Lima", Occasion: "streak"},
		{Kind: generation.KindRecognition, Locale: "en", Community: trail, FirstName: "Ana", Occasion: "birthday"},
		{Kind: generation.KindBadge, Locale: "en", Community: trail},
	} {
		if _, err := (generation.Template{}).Generate(ctx, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestDifficultyFollowsTheSkillMix(t *testing.T) {
	for _, tc := range []struct {
		mix   map[string]int
		level string
	}{
		{map[string]int{"beginner": 9, "intermediate": 1}, "gentle"},
		{map[string]int{"intermediate": 10}, "steady"},
		{map[string]int{"advanced": 8, "intermediate": 2}, "stretch"},
		{map[string]int{"expert": 10}, "summit"},
	} {
		level, days, steps := generation.Difficulty(tc.mix)
		if level != tc.level || steps < 3 || steps > 5 || days < 7 {
			t.Errorf("mix %v: %s, %d days, %d steps; want %s", tc.mix, level, days, steps, tc.level)
		}
	}
}

func TestVariantsDifferAcrossCommunitiesButNotForOne(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		c := trail
		c.ID = fmt.Sprintf("c-%d", i)
		a, _ := generation.Template{}.Generate(ctx, generation.Request{Kind: generation.KindCommunityPrompt, Locale: "en", Community: c})
		b, _ := generation.Template{}.Generate(ctx, generation.Request{Kind: generation.KindCommunityPrompt, Locale: "en", Community: c})
		if a["prompt"] != b["prompt"] {
			t.Fatal("one community got two different prompts")
		}
		seen[a["prompt"].(string)] = true
	}
	if len(seen) < 2 {
		t.Fatal("twenty communities all got the same phrasing")
	}
}

func TestGuardrails(t *testing.T) {
	g := generation.Guardrails{Banned: []string{"crush it"}}
	cases := []struct {
		kind  string
		body  generation.Body
		names []string
		rule  string
	}{
		{generation.KindRecognition, generation.Body{"message": "Ana, 100 classes! Enjoy 20% off your next pass."}, nil, "belonging_not_bargains"},
		{generation.KindChallenge, generation.Body{"narrative": "Earn double points this week", "steps": []string{"a"}}, nil, "belonging_not_bargains"},
		{generation.KindRecognition, generation.Body{"message": "Ana, claim your free gift!"}, nil, "belonging_not_bargains"},
		{generation.KindRecognition, generation.Body{"message": "Ana, write to ana@example.com"}, nil, "personal_data"},
		{generation.KindRecognition, generation.Body{"message": "Call Ana on +46 70 123 45 67"}, nil, "personal_data"},
		{generation.KindRecognition, generation.Body{"message": "Well done Ana Lindqvist!"}, []string{"Lindqvist"}, "personal_data"},
		{generation.KindCommunityProfile, generation.Body{"name": strings.Repeat("x", 61)}, nil, "length"},
		{generation.KindCommunityPrompt, generation.Body{"prompt": "Ready to crush it?"}, nil, "banned_phrase"},
		{generation.KindChallenge, generation.Body{"steps": []any{"ok", ""}}, nil, "empty"},
	}
	for _, tc := range cases {
		found := g.Check(tc.kind, tc.body, tc.names...)
		hit := false
		for _, f := range found {
			hit = hit || f.Rule == tc.rule
		}
		if !hit {
			t.Errorf("%s %v: findings %v, want rule %s", tc.kind, tc.body, found, tc.rule)
		}
	}
	// Transactional words are fine outside recognition and challenges, and clean copy
	// passes.
	if f := g.Check(generation.KindCommunityProfile, generation.Body{"description": "Points of view welcome"}); len(f) != 0 {
		t.Errorf("profile flagged: %v", f)
	}
	if f := g.Check(generation.KindRecognition, generation.Body{"message": "Ana, 30 days in a row! The circle is proud."}, "Lindqvist"); len(f) != 0 {
		t.Errorf("clean recognition flagged: %v", f)
	}
}

func ExampleTemplate_Generate() {
	b, _ := generation.Template{}.Generate(context.Background(), generation.Request{
		Kind: generation.KindRecognition, Locale: "en", FirstName: "Ana", Occasion: "milestone", Detail: "100 classes",
		Community: generation.CommunityFacts{ID: "c-7", Name: "Trail running · Hiking"}})
	fmt.Println(b["message"])
	// Output: What a moment, Ana: 100 classes. Everyone in Trail running · Hiking is cheering.
}

// A badge is drafted for each occasion in each locale: its name and description
// within the guardrails, the challenge's title in a challenge badge, and a symbol
// that says what it is for.
func TestTemplateBadges(t *testing.T) {
	want := map[string]string{"challenge": "trophy", "streak": "flame", "anniversary": "heart", "milestone": "mountain"}
	for _, loc := range generation.Locales {
		for occasion, symbol := range want {
			r := generation.Request{Kind: generation.KindBadge, Locale: loc, Community: trail, Occasion: occasion}
			if occasion == "challenge" {
				r.Detail = "March Trail Miles"
			}
			b, err := generation.Template{}.Generate(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if err := generation.ValidateBody(generation.KindBadge, b); err != nil {
				t.Errorf("%s %s: %v", loc, occasion, err)
			}
			if f := (generation.Guardrails{}).Check(generation.KindBadge, b); len(f) > 0 {
				t.Errorf("%s %s: %v", loc, occasion, f)
			}
			if b["symbol"] != symbol || !strings.Contains(b["name"].(string), "Trail running") {
				t.Errorf("%s %s: %v, want symbol %s and the community's first interest in the name", loc, occasion, b, symbol)
			}
			if occasion == "challenge" && !strings.Contains(b["description"].(string), "March Trail Miles") {
				t.Errorf("%s challenge badge %q does not name the challenge", loc, b["description"])
			}
		}
	}
}

// Offline copy is grammatical enough to send: members' own words (usually English
// labels) are marked as names inside Swedish and Italian sentences, never spliced in
// as if translated; English never writes "a" before a vowel; details are in the
// language.
func TestTemplateCopyReads(t *testing.T) {
	ctx := context.Background()
	outdoors := generation.CommunityFacts{ID: "c-9", Name: "Access to outdoors · Indoor cycling", Labels: []string{"access to outdoors", "indoor cycling"},
		Size: 12, SkillMix: map[string]int{"advanced": 9}}
	marks := map[string][2]string{"sv": {"”", "”"}, "it": {"«", "»"}}
	aVowel := regexp.MustCompile(`(?i)\ba [aeiou]`)
	for _, loc := range generation.Locales {
		for _, kind := range generation.Kinds {
			for _, occasion := range generation.Occasions {
				detail := "100 × class"
				if occasion == "challenge" {
					detail = "March Miles" // a challenge's title: content in its own right
				}
				r := generation.Request{Kind: kind, Locale: loc, Community: outdoors, FirstName: "Ana", Occasion: occasion, Detail: detail}
				b, err := generation.Template{}.Generate(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				for field, v := range b {
					if field == "name" || field == "emblem" || field == "symbol" || field == "occasion" {
						continue
					}
					for _, text := range texts(v) {
						if loc == "en" && aVowel.MatchString(text) {
							t.Errorf("en %s %s: %q writes a before a vowel", kind, field, text)
						}
						if m, ok := marks[loc]; ok {
							for _, label := range outdoors.Labels {
								for i := strings.Index(strings.ToLower(text), label); i >= 0; {
									if !quotedAt(text, i, m) {
										t.Errorf("%s %s %s: %q splices %q in unmarked", loc, kind, field, text, label)
									}
									next := strings.Index(strings.ToLower(text[i+1:]), label)
									if next < 0 {
										break
									}
									i += 1 + next
								}
							}
							if strings.Contains(text, "class") && !strings.Contains(text, m[0]+"class"+m[1]) {
								t.Errorf("%s %s %s: %q: the event is not marked as a name", loc, kind, field, text)
							}
						}
					}
				}
			}
		}
	}
}

func texts(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []string:
		return t
	}
	return nil
}

// quotedAt reports whether byte i of text is inside marks (a name).
func quotedAt(text string, i int, marks [2]string) bool {
	open := false
	for j := 0; j < i; {
		switch {
		case !open && strings.HasPrefix(text[j:], marks[0]):
			open, j = true, j+len(marks[0])
		case open && strings.HasPrefix(text[j:], marks[1]):
			open, j = false, j+len(marks[1])
		default:
			j++
		}
	}
	return open
}
