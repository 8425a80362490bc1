package demo_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/demo"
)

func TestGenerateIsSeededAndRealistic(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cfg := demo.Config{Members: 5000, Seed: 4, Now: now, NoConsentShare: 0.05}
	a, b := demo.Generate(cfg), demo.Generate(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different brand")
	}
	if len(a.Members) != 5000 || len(a.Persona) != 5000 {
		t.Fatalf("%d members, %d personas", len(a.Members), len(a.Persona))
	}
	perPersona := make([]int, len(demo.Personas))
	noConsent := 0
	for i, m := range a.Members {
		perPersona[a.Persona[i]]++
		if !m.Consent.Personalization {
			noConsent++
		}
		if len(m.Interests) == 0 || m.SkillLevel == "" {
			t.Fatalf("member %s has no interests or skill: %+v", m.ID, m)
		}
	}
	for p, n := range perPersona {
		if n < 100 {
			t.Errorf("persona %q has only %d members", demo.Personas[p].Name, n)
		}
	}
	if noConsent < 150 || noConsent > 350 {
		t.Errorf("%d members without consent, want about 5%% of 5000", noConsent)
	}
	ids := map[string]bool{}
	for _, e := range a.Events {
		if e.At.Before(now.Add(-90*24*time.Hour)) || e.At.After(now) {
			t.Fatalf("event %s at %s is outside the 90 days", e.ID, e.At)
		}
		if ids[e.ID] {
			t.Fatalf("event id %s repeats", e.ID)
		}
		ids[e.ID] = true
	}
	if len(a.Events) < 5000*10 {
		t.Errorf("%d events: want at least 10 a member on average", len(a.Events))
	}
	if c := demo.Generate(demo.Config{Members: 50, Seed: 5, Now: now}); reflect.DeepEqual(c.Members, a.Members[:50]) {
		t.Error("a different seed gave the same members")
	}
}
