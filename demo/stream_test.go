package demo_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/demo"
)

// Streaming in parts makes exactly the brand Generate makes, one part at a time.
func TestStreamMakesTheSameBrand(t *testing.T) {
	cfg := demo.Config{Members: 1050, Seed: 7, Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), NoConsentShare: 0.05, Synonyms: 0.2}
	whole := demo.Generate(cfg)
	var joined demo.Brand
	parts := 0
	err := demo.Stream(cfg, 100, func(b demo.Brand) error {
		if len(b.Members) > 100 {
			t.Fatalf("a part of %d members", len(b.Members))
		}
		parts++
		joined.Members = append(joined.Members, b.Members...)
		joined.Events = append(joined.Events, b.Events...)
		joined.Persona = append(joined.Persona, b.Persona...)
		return nil
	})
	if err != nil || parts != 11 {
		t.Fatalf("%d parts, err %v", parts, err)
	}
	if !reflect.DeepEqual(whole, joined) {
		t.Fatal("the streamed brand differs from the generated one")
	}
}
