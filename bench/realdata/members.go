package main

import (
	"regexp"
	"sort"
	"strings"
)

// member is one point to cluster: its interest terms (with weights: 1 for a package,
// how many of their packages carry the term for a person) and its true team.
type member struct {
	name    string
	terms   []string
	weights []float64
	team    string
}

// packagingFacets describe how a package is built or split, not what it is about:
// role:: (program, shared-lib, app-data...), made-of:: (font files, html...),
// implemented-in:: (the language: what gives the language teams away) and special::
// (tagging bookkeeping).
var packagingFacets = []string{"role::", "made-of::", "implemented-in::", "special::"}

// languageTeams are teams whose membership is a programming language (or an editor's
// extension language), which their implemented-in:: and devel::lang tags give away:
// trivial for any method, so left out, as is the QA group (orphans of every kind).
var languageTeams = regexp.MustCompile(`(?i)perl|python|\bgo\b|golang|rust|ruby|javascript|node|haskell|ocaml|` +
	`java\b|\bR\b|lisp|php|pear|pecl|\blua\b|octave|emacs|elpa|tcl|clojure|erlang|elixir|mono\b|julia|scala|` +
	`\bQA Group\b`)

// interests returns the terms a source package is about: its debtags outside the
// packaging facets, written as phrases ("game::strategy" → "game strategy"), and its
// section ("section games").
func interests(s *source) []string {
	var out []string
	for t := range s.tags {
		if !packaging(t) {
			out = append(out, phrase(t))
		}
	}
	if len(out) == 0 {
		return nil // section alone is not enough to call it an interest profile
	}
	sort.Strings(out)
	if s.section != "" {
		sec := "section " + s.section
		if phraseStyle == "tag" {
			sec = "section::" + s.section
		}
		out = append(out, sec)
	}
	return out
}

func packaging(tag string) bool {
	for _, f := range packagingFacets {
		if strings.HasPrefix(tag, f) {
			return true
		}
	}
	return false
}

// phraseStyle is how a debtag becomes an interest phrase (-phrases):
//
//	"words": "game::strategy" → "game strategy" (as a member would write it; the
//	         facet is a word every tag of the facet shares)
//	"value": "strategy" (the facet dropped; "devel::lang:ruby" → "lang ruby")
//	"tag":   "game::strategy" (one opaque token)
var phraseStyle = "words"

// phrase writes a debtag as an interest phrase in phraseStyle.
func phrase(tag string) string {
	colon := func(r rune) bool { return r == ':' }
	switch phraseStyle {
	case "tag":
		return tag
	case "value":
		_, v, _ := strings.Cut(tag, "::")
		return strings.Join(strings.FieldsFunc(v, colon), " ")
	}
	return strings.Join(strings.FieldsFunc(tag, colon), " ")
}

// buildMembers keeps each team-maintained source package with at least one interest
// tag whose team is not a language team and has at least minTeam such packages.
func buildMembers(srcs []*source, minTeam int) ([]member, map[string]int, map[string]int, int, int) {
	perTeam := map[string][]member{}
	teamSources, tagged := 0, 0
	for _, s := range srcs {
		if !s.team {
			continue
		}
		teamSources++
		terms := interests(s)
		if terms == nil {
			continue
		}
		tagged++
		perTeam[s.maintainer] = append(perTeam[s.maintainer],
			member{name: s.name, terms: terms, weights: ones(len(terms)), team: s.maintainer})
	}
	excluded, small := map[string]int{}, map[string]int{}
	var out []member
	for _, team := range sortedKeys(perTeam) {
		ms := perTeam[team]
		switch {
		case languageTeams.MatchString(team):
			if len(ms) >= minTeam {
				excluded[team] = len(ms)
			}
		case len(ms) < minTeam:
			small[team] = len(ms)
		default:
			out = append(out, ms...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, excluded, small, teamSources, tagged
}

// buildPeople makes a member of each uploader of at least minPackages of the kept
// packages: their interests are the terms of those packages weighted by how many carry
// each, their team the one most of those packages belong to (ties: by name).
func buildPeople(srcs []*source, pkgs []member, minPackages int) []member {
	kept := map[string]member{}
	for _, m := range pkgs {
		kept[m.name] = m
	}
	teams := map[string]map[string]int{}
	terms := map[string]map[string]float64{}
	for _, s := range srcs {
		m, ok := kept[s.name]
		if !ok {
			continue
		}
		for _, u := range s.uploaders {
			if teams[u] == nil {
				teams[u], terms[u] = map[string]int{}, map[string]float64{}
			}
			teams[u][m.team]++
			for _, t := range m.terms {
				terms[u][t]++
			}
		}
	}
	var out []member
	for _, u := range sortedKeys(teams) {
		total, best, bestN := 0, "", 0
		for _, t := range sortedKeys(teams[u]) {
			n := teams[u][t]
			total += n
			if n > bestN {
				best, bestN = t, n
			}
		}
		if total < minPackages {
			continue
		}
		p := member{name: u, team: best}
		for _, t := range sortedKeys(terms[u]) {
			p.terms = append(p.terms, t)
			p.weights = append(p.weights, terms[u][t])
		}
		out = append(out, p)
	}
	return out
}

func ones(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
