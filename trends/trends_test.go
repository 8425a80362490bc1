package trends_test

import (
	"testing"

	"github.com/belong-loyalty/belong/trends"
)

func TestCompareReportsOnlySignificantChanges(t *testing.T) {
	before := map[string]int{"padel": 50, "yoga": 300, "surfing": 100, "chess": 3}
	after := map[string]int{"padel": 160, "yoga": 290, "surfing": 40, "chess": 6}
	rising, falling := trends.Compare(before, after, 1000, 1000, trends.Config{})
	if len(rising) != 1 || rising[0].Name != "padel" || rising[0].Z < 3 {
		t.Fatalf("rising %+v: want only padel", rising)
	}
	if len(falling) != 1 || falling[0].Name != "surfing" {
		t.Fatalf("falling %+v: want only surfing (yoga's dip and chess are noise)", falling)
	}
	// The same counts over a tenth of the population are not significant.
	rising, falling = trends.Compare(map[string]int{"padel": 5}, map[string]int{"padel": 8}, 100, 100, trends.Config{})
	if len(rising)+len(falling) != 0 {
		t.Fatalf("noise reported: %v %v", rising, falling)
	}
	if r, f := trends.Compare(before, after, 0, 1000, trends.Config{}); len(r)+len(f) != 0 {
		t.Fatal("changes from an empty window")
	}
}
