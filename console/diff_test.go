package console

import (
	"reflect"
	"testing"
)

// An edit reads as what was taken out and what was put in, word by word.
func TestWordDiff(t *testing.T) {
	before, after := wordDiff("Join the circle this week and share a win", "Join the crew this month and share a win")
	wantBefore := []span{{"Join the", false}, {"circle", true}, {"this", false}, {"week", true}, {"and share a win", false}}
	wantAfter := []span{{"Join the", false}, {"crew", true}, {"this", false}, {"month", true}, {"and share a win", false}}
	if !reflect.DeepEqual(before, wantBefore) || !reflect.DeepEqual(after, wantAfter) {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
	before, after = wordDiff("", "all new")
	if len(before) != 0 || !reflect.DeepEqual(after, []span{{"all new", true}}) {
		t.Fatalf("from nothing: %+v %+v", before, after)
	}
	rows := diffRows(map[string]any{"steps": map[string]any{"from": []any{"Walk", "Share"}, "to": []any{"Walk", "Run"}}, "override": "markup"})
	if len(rows) != 1 || rows[0].Field != "steps" || !reflect.DeepEqual(rows[0].After, []span{{"Walk", false}, {"Run", true}}) {
		t.Fatalf("rows %+v", rows)
	}
}
