package generation

import (
	"fmt"
	"hash/fnv"
	"html"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Emblems are a badge's outlines and Symbols what is drawn inside one: a badge's body
// names one of each, so a model or a reviewer picks from drawings Belong owns and
// never supplies markup of its own.
var (
	Emblems = []string{"circle", "shield", "hexagon", "rosette"}
	Symbols = []string{"star", "flame", "trophy", "heart", "leaf", "wave", "mountain", "bolt"}
)

// palettes are the colour pairs communities wear: a fill, dark enough for white text
// on it, and an accent for outlines.
var palettes = [][2]string{
	{"#364fc7", "#f59f00"}, {"#2b7a3d", "#fab005"}, {"#c2255c", "#4c6ef5"}, {"#0b7285", "#f76707"},
	{"#5f3dc4", "#12b886"}, {"#c2410c", "#1864ab"}, {"#862e9c", "#f08c00"}, {"#1d2230", "#e64980"},
}

// Palette is a community's colours: a fill and an accent, the same every time for
// one community id.
func Palette(communityID string) (fill, accent string) {
	h := fnv.New32a()
	h.Write([]byte(communityID))
	p := palettes[h.Sum32()%uint32(len(palettes))]
	return p[0], p[1]
}

// symbolPaths draw each symbol in white inside a 48×48 box centred on (60, 58).
var symbolPaths = map[string]string{
	"flame":    `<path d="M60 34c4 10 16 16 16 30a16 16 0 0 1-32 0c0-8 4-12 8-16 0 6 2 9 5 10-2-9 0-17 3-24z" fill="#fff"/>`,
	"trophy":   `<path d="M46 36h28v8h8c0 10-5 15-11 16-2 5-5 7-8 8v6h8v6H49v-6h8v-6c-3-1-6-3-8-8-6-1-11-6-11-16h8zm-4 14c1 3 2 5 4 6v-6zm32 0v6c2-1 3-3 4-6z" fill="#fff"/>`,
	"heart":    `<path d="M60 80 42 62c-6-6-6-15 0-20 5-4 12-3 18 4 6-7 13-8 18-4 6 5 6 14 0 20z" fill="#fff"/>`,
	"leaf":     `<path d="M40 78c0-24 14-40 40-42 0 26-14 42-36 40l-2 6-4-1 3-8c4-10 12-18 22-24-10 4-18 12-23 22z" fill="#fff"/>`,
	"wave":     `<path d="M36 62c6-6 10-6 16 0s10 6 16 0 10-6 16 0v8c-6-6-10-6-16 0s-10 6-16 0-10-6-16 0zm0-14c6-6 10-6 16 0s10 6 16 0 10-6 16 0v8c-6-6-10-6-16 0s-10 6-16 0-10-6-16 0z" fill="#fff"/>`,
	"mountain": `<path d="M34 78 52 46l8 12 6-8 20 28z" fill="#fff"/>`,
	"bolt":     `<path d="M64 32 44 62h14l-4 22 22-32H62z" fill="#fff"/>`,
}

// Emblem draws a badge as a standalone SVG document: its outline in the community's
// colours (Palette), its symbol in the middle and caption on a ribbon below (the
// badge's name, or what an award was for: "100 classes"). Unknown emblems or symbols
// draw the first of each; text is escaped and stripped of what XML cannot carry, so
// any caption yields a well-formed image that runs nothing.
func Emblem(b Body, communityID, caption string) string {
	fill, accent := Palette(communityID)
	str := func(k string) string { s, _ := b[k].(string); return s }
	var sb strings.Builder
	sb.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 140" width="120" height="140" role="img">`)
	fmt.Fprintf(&sb, `<title>%s</title>`, xmlText(str("name"), 120))
	switch str("emblem") {
	case "shield":
		fmt.Fprintf(&sb, `<path d="M60 6 108 22v40c0 32-22 54-48 66C34 116 12 94 12 62V22z" fill="%s" stroke="%s" stroke-width="5"/>`, fill, accent)
	case "hexagon":
		fmt.Fprintf(&sb, `<polygon points="%s" fill="%s" stroke="%s" stroke-width="5"/>`, polygon(6, 54, 54, math.Pi/2), fill, accent)
	case "rosette":
		fmt.Fprintf(&sb, `<polygon points="%s" fill="%s"/><circle cx="60" cy="58" r="40" fill="%s"/>`, polygon(24, 54, 46, 0), accent, fill)
	default: // circle
		fmt.Fprintf(&sb, `<circle cx="60" cy="58" r="50" fill="%s" stroke="%s" stroke-width="5"/>`, fill, accent)
	}
	if p, ok := symbolPaths[str("symbol")]; ok {
		sb.WriteString(p)
	} else { // star
		fmt.Fprintf(&sb, `<polygon points="%s" fill="#fff"/>`, polygon(10, 24, 10, math.Pi/2))
	}
	fmt.Fprintf(&sb, `<rect x="6" y="106" width="108" height="24" rx="4" fill="%s" stroke="%s" stroke-width="2"/>`, fill, accent)
	text, fit := xmlText(caption, 22), ""
	if n := utf8.RuneCountInString(html.UnescapeString(text)); n > 15 {
		fit = ` textLength="98" lengthAdjust="spacingAndGlyphs"` // squeezed onto the ribbon
	}
	fmt.Fprintf(&sb, `<text x="60" y="122" text-anchor="middle" font-family="system-ui,sans-serif" font-size="11" font-weight="700" fill="#fff"%s>%s</text>`,
		fit, text)
	sb.WriteString(`</svg>`)
	return sb.String()
}

// polygon is the points of a regular polygon (n corners) or, when inner differs
// from outer, a star of n/2 points, centred on (60, 58) and turned by rot.
func polygon(n int, outer, inner, rot float64) string {
	pts := make([]string, n)
	for i := range pts {
		r := outer
		if i%2 == 1 {
			r = inner
		}
		a := rot + 2*math.Pi*float64(i)/float64(n)
		pts[i] = fmt.Sprintf("%.1f,%.1f", 60+r*math.Cos(a), 58-r*math.Sin(a))
	}
	return strings.Join(pts, " ")
}

// xmlText is s for an XML text node: at most limit characters (cut at a word where
// one ends in the second half, an ellipsis marking the cut), without characters XML
// 1.0 cannot carry, escaped.
func xmlText(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || unicode.IsControl(r) || r >= 0xFFFE || unicode.Is(unicode.Cs, r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > limit {
		cut := string(r[:limit-1])
		if i := strings.LastIndex(cut, " "); i > len(cut)/2 {
			cut = cut[:i]
		}
		s = strings.TrimSpace(cut) + "…"
	}
	return html.EscapeString(s)
}
