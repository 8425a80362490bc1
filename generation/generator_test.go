package generation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/generation"
)

func TestTemplateWritesEveryLocale(t *testing.T) {
	ctx := context.Background()
	c := generation.CommunityFacts{ID: "c-1", Labels: []string{"trail running", "ocean clean-ups"}, Size: 42}
	seen := map[string]bool{}
	for _, loc := range append(generation.Locales, "sv-SE", "it_IT") {
		p, err := generation.Template{}.CommunityProfile(ctx, c, loc)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if !strings.Contains(p.Name, "Trail running") || !strings.Contains(p.Description, "42") ||
			!strings.Contains(p.Description, "ocean clean-ups") {
			t.Errorf("%s: %+v does not use the facts", loc, p)
		}
		seen[p.Description] = true
	}
	if len(seen) != len(generation.Locales) {
		t.Errorf("%d distinct descriptions for %d locales", len(seen), len(generation.Locales))
	}
	if _, err := (generation.Template{}).CommunityProfile(ctx, c, "fr"); err == nil {
		t.Error("no error for a locale without templates")
	}
	p, err := generation.Template{}.CommunityProfile(ctx, generation.CommunityFacts{ID: "c-2", Size: 9}, "en")
	if err != nil || p.Name == "" || !strings.Contains(p.Description, "9") {
		t.Errorf("unlabelled community: %+v (err %v)", p, err)
	}
}

func ExampleTemplate_CommunityProfile() {
	p, _ := generation.Template{}.CommunityProfile(context.Background(),
		generation.CommunityFacts{Labels: []string{"yoga", "meditation"}, Size: 31}, "en")
	fmt.Println(p.Name)
	fmt.Println(p.Description)
	// Output:
	// Yoga & Meditation
	// A circle of 31 members who share a love of yoga and meditation. Come as you are, find your people, and grow together.
}
