package console

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// span is a run of words in a side-by-side diff, changed or not.
type span struct {
	Text    string
	Changed bool
}

// diffRow is one field of an edit, before and after, with the words that changed
// marked on each side.
type diffRow struct {
	Field         string
	Before, After []span
}

// diffRows reads an edit's audit changes ({field: {from, to}}) as side-by-side rows.
func diffRows(changes map[string]any) []diffRow {
	var out []diffRow
	for _, k := range slices.Sorted(maps.Keys(changes)) {
		ch, ok := changes[k].(map[string]any)
		if !ok {
			continue
		}
		before, after := wordDiff(text(ch["from"]), text(ch["to"]))
		out = append(out, diffRow{Field: k, Before: before, After: after})
	}
	return out
}

// text is a field's value as a reviewer reads it: a list one item per line.
func text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case []any:
		lines := make([]string, len(t))
		for i, x := range t {
			lines[i] = fmt.Sprint(x)
		}
		return strings.Join(lines, "\n")
	}
	return fmt.Sprint(v)
}

// wordDiff marks the words of a and b outside their longest common subsequence of
// words: what was taken out of a and what was put into b.
func wordDiff(a, b string) (before, after []span) {
	x, y := strings.Fields(a), strings.Fields(b)
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	add := func(s []span, word string, changed bool) []span {
		if n := len(s); n > 0 && s[n-1].Changed == changed {
			s[n-1].Text += " " + word
			return s
		}
		return append(s, span{Text: word, Changed: changed})
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			before, after = add(before, x[i], false), add(after, y[j], false)
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			after = add(after, y[j], true)
			j++
		default:
			before = add(before, x[i], true)
			i++
		}
	}
	return before, after
}
