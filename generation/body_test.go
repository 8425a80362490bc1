package generation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/belong-loyalty/belong/generation"
)

// Every body the templates write has its kind's shape, and an edit that breaks the
// shape is refused.
func TestBodiesHaveTheirKindsShape(t *testing.T) {
	c := generation.CommunityFacts{ID: "c-1", Name: "Yoga · Meditation", Labels: []string{"yoga", "meditation"}, Size: 20,
		SkillMix: map[string]int{"beginner": 12, "advanced": 8}}
	for _, kind := range generation.Kinds {
		for _, locale := range generation.Locales {
			r := generation.Request{Kind: kind, Locale: locale, Community: c, FirstName: "Ana", Occasion: "streak", Detail: "30 days"}
			b, err := (generation.Template{}).Generate(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if err := generation.ValidateBody(kind, b); err != nil {
				t.Errorf("template %s/%s: %v", kind, locale, err)
			}
		}
	}
	good := generation.Body{"title": "t", "narrative": "n", "steps": []any{"a", "b", "c"}, "duration_days": 21.0, "difficulty": "d"}
	if err := generation.ValidateBody(generation.KindChallenge, good); err != nil {
		t.Fatalf("a good challenge: %v", err)
	}
	for name, bad := range map[string]generation.Body{
		"missing field": {"title": "t", "narrative": "n", "steps": []any{"a"}, "difficulty": "d"},
		"extra field":   {"title": "t", "narrative": "n", "steps": []any{"a"}, "duration_days": 21.0, "difficulty": "d", "html": "<b>"},
		"wrong type":    {"title": 7.0, "narrative": "n", "steps": []any{"a"}, "duration_days": 21.0, "difficulty": "d"},
		"not a list":    {"title": "t", "narrative": "n", "steps": "a, b", "duration_days": 21.0, "difficulty": "d"},
		"fraction":      {"title": "t", "narrative": "n", "steps": []any{"a", "b", "c"}, "duration_days": 2.5, "difficulty": "d"},
		"no steps":      {"title": "t", "narrative": "n", "steps": []any{}, "duration_days": 21.0, "difficulty": "d"},
		"six steps":     {"title": "t", "narrative": "n", "steps": []any{"a", "b", "c", "d", "e", "f"}, "duration_days": 21.0, "difficulty": "d"},
		"negative days": {"title": "t", "narrative": "n", "steps": []any{"a", "b", "c"}, "duration_days": -5.0, "difficulty": "d"},
		"huge days":     {"title": "t", "narrative": "n", "steps": []any{"a", "b", "c"}, "duration_days": 1e20, "difficulty": "d"},
		"list of ints":  {"title": "t", "narrative": "n", "steps": []any{1.0}, "duration_days": 21.0, "difficulty": "d"},
	} {
		if err := generation.ValidateBody(generation.KindChallenge, bad); !errors.Is(err, generation.ErrBody) {
			t.Errorf("%s: %v, want ErrBody", name, err)
		}
	}
	// A badge's emblem and symbol are drawings Belong owns: nothing else is taken.
	for name, bad := range map[string]generation.Body{
		"unknown emblem": {"name": "n", "description": "d", "emblem": "pentagon", "symbol": "star"},
		"markup symbol":  {"name": "n", "description": "d", "emblem": "circle", "symbol": "<path d='M0 0'/>"},
	} {
		if err := generation.ValidateBody(generation.KindBadge, bad); !errors.Is(err, generation.ErrBody) {
			t.Errorf("%s: %v, want ErrBody", name, err)
		}
	}
}

// A member whose name or interests carry markup gets a recognition that waits for a
// reviewer: the guardrails flag markup, and flagged drafts are never auto-approved.
func TestMarkupIsFlagged(t *testing.T) {
	c := generation.CommunityFacts{ID: "c-1", Name: "Yoga", Labels: []string{"yoga"}, Size: 20}
	for _, name := range []string{"<script>alert(1)</script>", "Ana{{user.email}}", "Bo&#60;b", "%%=v(@x)=%%", "*|FNAME|*",
		"${7*7}", "#{7*7}", "vbscript:msgbox", "data:text/html;base64,x", "&ltimg", "Ana\u202eevil", "Cy"} {
		if name == "Cy" { // markup in an interest, so in the community's name
			c.Name = "Yoga · <img src=x onerror=alert(1)>"
		}
		r := generation.Request{Kind: generation.KindRecognition, Locale: "en", Community: c, FirstName: name, Occasion: "streak", Detail: "7 days"}
		d, err := (generation.Drafting{}).Compose(context.Background(), r, "m-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		flagged := false
		for _, f := range d.Findings {
			flagged = flagged || f.Rule == "markup"
		}
		if !flagged || d.Reviewed() {
			t.Errorf("first name %q: findings %+v, auto-approvable %v; want markup flagged and review required", name, d.Findings, d.Reviewed())
		}
	}
	plain := generation.Body{"message": "Ana, 7 days in a row: the yoga circle is better for it.", "occasion": "streak"}
	for _, f := range (generation.Guardrails{}).Check(generation.KindRecognition, plain) {
		if f.Rule == "markup" {
			t.Errorf("plain copy flagged: %+v", f)
		}
	}
}
