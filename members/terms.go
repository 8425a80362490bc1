package members

import "strings"

// separators are read as spaces between the words of a term.
var separators = strings.NewReplacer("-", " ", "_", " ", "/", " ")

// TermKey folds the ways people write one interest into one key, so "Trail running",
// "trail-running" and "trail runs" count as one term: lower case, hyphens and
// underscores as spaces, and each word stripped of a plural or -ing ending.
func TermKey(t string) string {
	t = strings.ToLower(separators.Replace(t))
	words := strings.Fields(t)
	for i, w := range words {
		words[i] = stem(w)
	}
	return strings.Join(words, " ")
}

func stem(w string) string {
	switch {
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		w = w[:len(w)-3]
		// running → runn → run; swimming → swim
		if n := len(w); n > 2 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
			w = w[:n-1]
		}
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		w = w[:len(w)-3] + "y"
	case len(w) > 2 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		w = w[:len(w)-1]
	}
	return w
}
