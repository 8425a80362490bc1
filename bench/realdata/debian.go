package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// stanza is one paragraph of a Debian control file: field name → value, continuation
// lines joined with spaces.
type stanza map[string]string

// readStanzas calls fn for each paragraph of the control file at path, keeping only
// the fields named in keep.
func readStanzas(path string, keep []string, fn func(stanza)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	want := map[string]bool{}
	for _, k := range keep {
		want[k] = true
	}
	return scanStanzas(f, want, fn)
}

func scanStanzas(r io.Reader, want map[string]bool, fn func(stanza)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	cur, key := stanza{}, ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(cur) > 0 {
				fn(cur)
			}
			cur, key = stanza{}, ""
		case line[0] == ' ' || line[0] == '\t':
			if key != "" {
				cur[key] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, _ := strings.Cut(line, ":")
			key = ""
			if want[k] {
				key = k
				cur[k] = strings.TrimSpace(v)
			}
		}
	}
	if len(cur) > 0 {
		fn(cur)
	}
	return sc.Err()
}

// source is a Debian source package: its maintainer, uploaders, section and the union
// of its binary packages' debtags.
type source struct {
	name, maintainer, mail string
	team                   bool
	uploaders              []string
	section                string
	tags                   map[string]bool
}

// teamLike is how parse.py (the data set's first build) told a team from a person.
var teamLike = regexp.MustCompile(`(?i)team|maintainers|group|packaging|packagers|pkg|project`)

// aliases merge teams that appear under two names, as build.py did.
var aliases = map[string]string{
	"Debian Science Team":            "Debian Science Maintainers",
	"Debian Astro Team":              "Debian Astronomy Team",
	"Debian Astronomy Maintainers":   "Debian Astronomy Team",
	"Debian Emacsen team":            "Debian Emacsen Team",
	"Debian Ruby Extras Maintainers": "Debian Ruby Team",
	"pkg-go":                         "Debian Go Packaging Team",
}

// loadSources reads the Sources and Packages indexes into source packages that have
// at least one binary in Packages.
func loadSources(sourcesPath, packagesPath string) ([]*source, error) {
	bySource := map[string]*source{}
	err := readStanzas(sourcesPath, []string{"Package", "Maintainer", "Uploaders", "Section"}, func(s stanza) {
		name, mail := person(s["Maintainer"])
		if a, ok := aliases[name]; ok {
			name = a
		}
		var ups []string
		for _, u := range splitPeople(s["Uploaders"]) {
			n, _ := person(u)
			ups = append(ups, n)
		}
		bySource[s["Package"]] = &source{
			name: s["Package"], maintainer: name, mail: mail,
			team:      teamLike.MatchString(name) || strings.Contains(mail, "lists"),
			uploaders: ups, section: s["Section"], tags: map[string]bool{},
		}
	})
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	seen := map[string]bool{}
	err = readStanzas(packagesPath, []string{"Package", "Source", "Tag"}, func(s stanza) {
		name := s["Package"]
		if src := s["Source"]; src != "" {
			name = strings.Fields(src)[0]
		}
		sp := bySource[name]
		if sp == nil {
			return
		}
		seen[name] = true
		for _, t := range strings.Split(s["Tag"], ",") {
			if t = strings.TrimSpace(t); t != "" {
				sp.tags[t] = true
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("packages: %w", err)
	}
	out := make([]*source, 0, len(seen))
	for name := range seen {
		out = append(out, bySource[name])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// person splits "Name <mail>" into its name and address.
func person(s string) (name, mail string) {
	name, rest, _ := strings.Cut(s, "<")
	return strings.TrimSpace(name), strings.TrimSuffix(strings.TrimSpace(rest), ">")
}

// splitPeople splits an Uploaders list on the commas outside <addresses>.
func splitPeople(s string) []string {
	var out []string
	depth, start := 0, 0
	flush := func(end int) {
		if p := strings.TrimSpace(s[start:end]); p != "" {
			out = append(out, p)
		}
	}
	for i, r := range s {
		switch r {
		case '<':
			depth++
		case '>':
			depth = max(depth-1, 0)
		case ',':
			if depth == 0 {
				flush(i)
				start = i + 1
			}
		}
	}
	flush(len(s))
	return out
}
