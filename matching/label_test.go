package matching_test

import (
	"testing"

	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
)

// The cluster run labels communities with members.TermKey, so spellings of one
// interest make one label.
func TestTermKeyFoldsSpellings(t *testing.T) {
	for _, group := range [][]string{
		{"Trail running", "trail-running", "trail runs", "TRAIL RUN"},
		{"ocean clean-ups", "Ocean clean up", "ocean_clean_ups"},
		{"swimming", "swims", "swim"},
	} {
		want := members.TermKey(group[0])
		for _, t2 := range group[1:] {
			if got := members.TermKey(t2); got != want {
				t.Errorf("TermKey(%q) = %q, want %q like %q", t2, got, want, group[0])
			}
		}
	}
	if members.TermKey("yoga") == members.TermKey("yoga nidra") {
		t.Error("different terms folded together")
	}
	labels := clustering.Label([][]string{{"Trail running"}, {"trail-running"}, {"trail runs"}, {"padel"}, {"padel"}, {"padel"}},
		[]int{0, 0, 0, 1, 1, 1}, 2, clustering.LabelConfig{Max: 2, Min: 1, Key: members.TermKey})
	if len(labels[0]) != 1 || labels[1][0] != "padel" {
		t.Fatalf("labels %v: three spellings should make one label", labels)
	}
}
