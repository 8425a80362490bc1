package generation_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/generation"
)

// wellFormed parses an SVG document to its end and returns its text nodes.
func wellFormed(t *testing.T, svg string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var text strings.Builder
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && tok.Name.Local != "svg" {
				t.Fatalf("root is <%s>", tok.Name.Local)
			}
			if tok.Name.Local == "script" || tok.Name.Local == "foreignObject" {
				t.Fatalf("an emblem carries <%s>", tok.Name.Local)
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tok)
		}
	}
	return text.String()
}

// Every emblem and symbol draws a well-formed image in the community's colours with
// the caption on it, and text that looks like markup stays text.
func TestEmblem(t *testing.T) {
	fill, accent := generation.Palette("c-7")
	if f2, a2 := generation.Palette("c-7"); f2 != fill || a2 != accent {
		t.Fatal("a community's colours change between calls")
	}
	seen := map[string]bool{}
	for _, e := range generation.Emblems {
		for _, s := range generation.Symbols {
			svg := generation.Emblem(generation.Body{"name": "Trail Finisher", "emblem": e, "symbol": s}, "c-7", "100 runs")
			if seen[svg] {
				t.Errorf("%s/%s draws the same image as another pair", e, s)
			}
			seen[svg] = true
			if !strings.Contains(svg, fill) || !strings.Contains(svg, accent) {
				t.Errorf("%s/%s lacks the community's colours %s, %s", e, s, fill, accent)
			}
			if text := wellFormed(t, svg); !strings.Contains(text, "100 runs") || !strings.Contains(text, "Trail Finisher") {
				t.Errorf("%s/%s text %q lacks the caption or the name", e, s, text)
			}
		}
	}
	svg := generation.Emblem(generation.Body{"name": `</title><script>alert(1)</script>`}, "c-7", "a caption far too long for the ribbon")
	if text := wellFormed(t, svg); !strings.Contains(text, "<script>") || !strings.Contains(text, "a caption far too…") {
		t.Errorf("text %q: want the name as text and the caption cut", text)
	}
}

// Whatever a reviewer types as a name or an award's detail, the emblem is
// well-formed XML.
func FuzzEmblem(f *testing.F) {
	f.Add("Trail Finisher", "100 runs")
	f.Add("<&>\"'", "\x00\x1b\uFFFE\xff")
	f.Fuzz(func(t *testing.T, name, caption string) {
		wellFormed(t, generation.Emblem(generation.Body{"name": name, "emblem": "shield", "symbol": "bolt"}, name, caption))
	})
}
